// sequelize-cli style. Sequelize's DSL has no identity columns: the table is plain SQL.
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE urls (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        slug text NOT NULL UNIQUE,
        target text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  },
  async down(queryInterface) {
    await queryInterface.dropTable('urls');
  },
};

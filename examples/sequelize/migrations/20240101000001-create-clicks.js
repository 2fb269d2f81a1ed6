module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TABLE clicks (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        url_id integer NOT NULL REFERENCES urls (id) ON DELETE CASCADE,
        clicked_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryInterface.addIndex('clicks', ['url_id']);
  },
  async down(queryInterface) {
    await queryInterface.dropTable('clicks');
  },
};

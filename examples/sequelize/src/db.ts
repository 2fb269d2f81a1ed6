import {
  DataTypes,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  Sequelize,
  type CreationOptional,
} from 'sequelize';

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
export const sequelize = new Sequelize(process.env.DATABASE_URL, { logging: false, pool: { max: 5 } });

export interface UrlRow extends Model<InferAttributes<UrlRow>, InferCreationAttributes<UrlRow>> {
  id: CreationOptional<number>;
  slug: string;
  target: string;
  createdAt: CreationOptional<Date>;
}

export interface ClickRow extends Model<InferAttributes<ClickRow>, InferCreationAttributes<ClickRow>> {
  id: CreationOptional<number>;
  urlId: number;
  clickedAt: CreationOptional<Date>;
}

// The tables are the migrations'; the models only map them: ids and timestamps come from the database's defaults.
export const Url = sequelize.define<UrlRow>(
  'Url',
  {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    slug: { type: DataTypes.TEXT, allowNull: false, unique: true },
    target: { type: DataTypes.TEXT, allowNull: false },
    createdAt: { type: DataTypes.DATE },
  },
  { tableName: 'urls', underscored: true, timestamps: false },
);

export const Click = sequelize.define<ClickRow>(
  'Click',
  {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    urlId: { type: DataTypes.INTEGER, allowNull: false },
    clickedAt: { type: DataTypes.DATE },
  },
  { tableName: 'clicks', underscored: true, timestamps: false },
);

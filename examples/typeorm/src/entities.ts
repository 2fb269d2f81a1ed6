import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
} from 'typeorm';

@Entity('urls')
export class Url {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id!: number;

  @Column('text', { unique: true })
  slug!: string;

  @Column('text')
  target!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @OneToMany(
    () => Click,
    (click) => click.url,
  )
  clicks!: Click[];
}

@Entity('clicks')
export class Click {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id!: number;

  @Index()
  @Column('integer', { name: 'url_id' })
  urlId!: number;

  @ManyToOne(
    () => Url,
    (url) => url.clicks,
    { onDelete: 'CASCADE', nullable: false },
  )
  @JoinColumn({ name: 'url_id' })
  url!: Url;

  @CreateDateColumn({ name: 'clicked_at', type: 'timestamptz' })
  clickedAt!: Date;
}

// A knex migration with what schema builders emit most: increments, foreign keys,
// unique and plain indexes, defaults, booleans, json, timestamps, and an alter.
'use strict';

exports.up = async function up(knex) {
  await knex.schema.createTable('kx_authors', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable().unique();
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamps(true, true);
  });
  await knex.schema.createTable('kx_books', (t) => {
    t.bigIncrements('id');
    t.integer('author_id').unsigned().notNullable()
      .references('id').inTable('kx_authors').onDelete('CASCADE');
    t.string('title').notNullable();
    t.decimal('price', 8, 2);
    t.json('meta');
    t.index(['title']);
  });
  await knex.schema.alterTable('kx_books', (t) => {
    t.integer('pages').defaultTo(0);
    t.string('title', 300).alter();
  });
};

exports.down = async function down(knex) {
  await knex.schema.dropTable('kx_books');
  await knex.schema.dropTable('kx_authors');
};

// knex against pgproxy. Usage: node knex_check.js <connection-url>
//
// migrate:latest, inserts with returning ids, a transaction, then migrate:rollback; prints
// one JSON object that tests/integration/test_knex.py judges.
'use strict';

const path = require('path');
const knexFactory = require('knex');

async function main() {
  const knex = knexFactory({
    client: 'pg',
    connection: process.argv[2],
    migrations: { directory: path.join(__dirname, 'knex_migrations') },
    pool: { min: 0, max: 2 },
  });
  const out = {};
  try {
    const [batch, applied] = await knex.migrate.latest();
    out.applied = applied.map((f) => path.basename(f));
    const ids = await knex('kx_authors').insert([{ name: 'ada' }, { name: 'grace' }], ['id']);
    out.ids = ids.map((r) => r.id);
    await knex.transaction(async (trx) => {
      await trx('kx_books').insert({ author_id: ids[0].id, title: 'Notes', price: '9.50',
        meta: JSON.stringify({ tags: ['math'] }) });
    });
    const book = await knex('kx_books').first('title', 'price', 'pages', 'meta');
    out.book = book;
    const authors = await knex('kx_authors').where('active', true).count({ n: '*' });
    out.active = Number(authors[0].n);
    const [rolledBatch, rolled] = await knex.migrate.rollback();
    out.rolled_back = rolled.map((f) => path.basename(f));
    out.tables_left = await knex.schema.hasTable('kx_books');
    out.batches = [batch, rolledBatch];
  } catch (err) {
    out.error = String(err.message || err);
    out.code = err.code || null;
  } finally {
    await knex.destroy();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();

// node-postgres against pgproxy. Usage: node check.js <connection-url> <table-suffix>
//
// Prints one JSON object per line, each with "check" and "ok"; a failed check carries the
// error's "code" (SQLSTATE) and "error". Every check runs whatever happened before it, so the
// Python test (tests/integration/test_node_postgres.py) judges each on its own.
'use strict';

const { Client } = require('pg');

const [url, suffix] = process.argv.slice(2);
if (!url || !suffix) {
  console.error('usage: node check.js <connection-url> <table-suffix>');
  process.exit(2);
}
const table = `nt_${suffix}`;
const txTable = `nx_${suffix}`;
const missing = `nmissing_${suffix}`;

function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function check(client, name, body) {
  try {
    const result = await body();
    emit({ check: name, ok: true, ...result });
  } catch (err) {
    emit({ check: name, ok: false, code: err.code || null, error: String(err.message || err) });
    try {
      await client.query('ROLLBACK'); // leave no transaction open for the next check
    } catch (_) {
      // nothing open, or the connection is gone: later checks say which
    }
  }
}

// The error a query raises, or null when it unexpectedly succeeds.
async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return { code: err.code || null, message: err.message, severity: err.severity || null };
  }
}

async function main() {
  const client = new Client({ connectionString: url, application_name: 'pgproxy-node-check' });
  await client.connect();
  try {
    await check(client, 'connect', async () => {
      const r = await client.query('SELECT version() AS v');
      return { version: r.rows[0].v };
    });

    await check(client, 'param_query', async () => {
      const r = await client.query('SELECT $1::int + 1 AS n, $2::text AS t, $3::boolean AS b, $4::int AS z',
        [41, "h\u00e9llo 'w\u00f6rld'", true, null]);
      return { row: r.rows[0], fields: r.fields.map((f) => [f.name, f.dataTypeID]) };
    });

    await check(client, 'setup', async () => {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.query(`DROP TABLE IF EXISTS ${txTable}`);
      await client.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, name varchar(50) NOT NULL,
        amount numeric(10,2), flag boolean, created timestamp)`);
      await client.query(`CREATE TABLE ${txTable} (id integer PRIMARY KEY, v varchar(20))`);
      return {};
    });

    await check(client, 'param_insert_select', async () => {
      const insert = `INSERT INTO ${table} (id, name, amount, flag, created) VALUES ($1, $2, $3, $4, $5)`;
      const inserted = [];
      inserted.push((await client.query(insert, [1, 'ann', '12.50', true, '2024-02-29 13:45:56'])).rowCount);
      inserted.push((await client.query(insert, [2, 'bob', null, false, null])).rowCount);
      const r = await client.query(
        `SELECT id, name, amount, flag, created FROM ${table} WHERE id >= $1 ORDER BY id`, [1]);
      const rows = r.rows.map((row) => ({
        ...row,
        // a timestamp without time zone comes back as a local Date: print it as the wall clock
        created: row.created === null ? null : [
          row.created.getFullYear(), row.created.getMonth() + 1, row.created.getDate(),
          row.created.getHours(), row.created.getMinutes(), row.created.getSeconds()],
      }));
      return { inserted, rows, command: r.command, rowCount: r.rowCount };
    });

    await check(client, 'named_prepared', async () => {
      const q = { name: 'by_name', text: `SELECT id FROM ${table} WHERE name = $1` };
      const a = await client.query({ ...q, values: ['ann'] });
      const b = await client.query({ ...q, values: ['bob'] });
      return { ids: [a.rows[0].id, b.rows[0].id] };
    });

    await check(client, 'transaction', async () => {
      const insert = `INSERT INTO ${txTable} (id, v) VALUES ($1, $2)`;
      const count = async () => Number((await client.query(`SELECT count(*) AS n FROM ${txTable}`)).rows[0].n);
      await client.query('BEGIN');
      await client.query(insert, [1, 'rolled back']);
      const seenInside = await count();
      await client.query('ROLLBACK');
      const afterRollback = await count();
      await client.query('BEGIN');
      await client.query(insert, [2, 'kept']);
      await client.query('COMMIT');
      const r = await client.query(`SELECT v FROM ${txTable} ORDER BY id`);
      return { seen_inside: seenInside, after_rollback: afterRollback, after_commit: r.rows.map((x) => x.v) };
    });

    await check(client, 'error_then_query', async () => {
      const simple = await errorOf(client.query(`SELECT * FROM ${missing}`));
      const extended = await errorOf(client.query(`SELECT * FROM ${missing} WHERE id = $1`, [1]));
      const r = await client.query('SELECT $1::int * 2 AS n', [21]);
      return { simple, extended, after: r.rows[0].n };
    });

    await check(client, 'error_in_transaction', async () => {
      await client.query('BEGIN');
      const first = await errorOf(client.query(`SELECT * FROM ${missing}`));
      const aborted = await errorOf(client.query('SELECT 1'));
      await client.query('ROLLBACK');
      const r = await client.query('SELECT 1 AS one');
      return { first, aborted, after_rollback: r.rows[0].one };
    });

    await check(client, 'teardown', async () => {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.query(`DROP TABLE IF EXISTS ${txTable}`);
      return {};
    });
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  emit({ check: 'fatal', ok: false, code: err.code || null, error: String(err.stack || err) });
  process.exit(1);
});

package pgproxy.jdbc;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * pgjdbc against pgproxy: DatabaseMetaData, a PreparedStatement type round trip, transactions,
 * errors and a fetch-size read. Usage: {@code Check <jdbc-url> <table-suffix>}.
 *
 * <p>Prints one JSON object per line, each with "check" and "ok"; a failed check carries the
 * exception's "sqlstate" and "error". The program always runs every check and exits 0 unless it
 * cannot connect, so the Python test can judge each check on its own.
 */
public final class Check {
    private interface Body {
        Map<String, Object> run() throws Exception;
    }

    private final Connection conn;
    private final String parent;
    private final String child;
    private final String types;
    private final String tx;
    private final String fetch;
    private final String missing;

    private Check(Connection conn, String suffix) {
        this.conn = conn;
        this.parent = "jp_" + suffix;
        this.child = "jc_" + suffix;
        this.types = "jt_" + suffix;
        this.tx = "jx_" + suffix;
        this.fetch = "jf_" + suffix;
        this.missing = "jmissing_" + suffix;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Check <jdbc-url> <table-suffix>");
            System.exit(2);
        }
        try (Connection conn = DriverManager.getConnection(args[0])) {
            Check c = new Check(conn, args[1]);
            c.check("connect", c::connect);
            c.check("setup", c::setup);
            c.check("getCatalogs", () -> rows(conn.getMetaData().getCatalogs(), "TABLE_CAT"));
            c.check("getSchemas", () -> rows(conn.getMetaData().getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
            c.check("getTables", c::tables);
            c.check("getColumns", () -> rows(conn.getMetaData().getColumns(null, "public", c.types, "%"),
                    "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE",
                    "IS_NULLABLE", "COLUMN_DEF", "ORDINAL_POSITION", "IS_AUTOINCREMENT"));
            c.check("getColumns_parent", () -> rows(conn.getMetaData().getColumns(null, "public", c.parent, "%"),
                    "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "NULLABLE", "ORDINAL_POSITION"));
            c.check("getPrimaryKeys", () -> rows(conn.getMetaData().getPrimaryKeys(null, "public", c.child),
                    "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
            c.check("getImportedKeys", () -> rows(conn.getMetaData().getImportedKeys(null, "public", c.child),
                    "PKTABLE_SCHEM", "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME",
                    "KEY_SEQ", "FK_NAME", "PK_NAME"));
            c.check("getExportedKeys", () -> rows(conn.getMetaData().getExportedKeys(null, "public", c.parent),
                    "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME"));
            c.check("getIndexInfo", () -> rows(conn.getMetaData().getIndexInfo(null, "public", c.child, false, false),
                    "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME", "ORDINAL_POSITION", "COLUMN_NAME"));
            c.check("getTypeInfo", () -> rows(conn.getMetaData().getTypeInfo(), "TYPE_NAME", "DATA_TYPE"));
            c.roundTrip();
            c.check("transaction", c::transaction);
            c.check("error_then_query", c::errorThenQuery);
            c.check("error_in_transaction", c::errorInTransaction);
            c.check("fetch_size", c::fetchSize);
            c.check("teardown", c::teardown);
        }
    }

    // --- checks ---------------------------------------------------------------------------

    private Map<String, Object> connect() throws SQLException {
        DatabaseMetaData md = conn.getMetaData();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("product", md.getDatabaseProductName());
        r.put("version", md.getDatabaseProductVersion());
        r.put("major", md.getDatabaseMajorVersion());
        r.put("driver", md.getDriverVersion());
        r.put("valid", conn.isValid(5));
        r.put("catalog", conn.getCatalog());
        r.put("schema", conn.getSchema());
        return r;
    }

    private Map<String, Object> setup() throws SQLException {
        dropAll();
        try (Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE " + parent + " (id integer PRIMARY KEY, name varchar(50) NOT NULL)");
            st.execute("CREATE TABLE " + child + " (id integer PRIMARY KEY, parent_id integer NOT NULL"
                    + " REFERENCES " + parent + " (id), note varchar(100))");
            st.execute("CREATE INDEX " + child + "_note_idx ON " + child + " (note)");
            st.execute("CREATE TABLE " + types + " (id integer PRIMARY KEY, c_int integer, c_long bigint,"
                    + " c_short smallint, c_bool boolean, c_double double precision, c_float real,"
                    + " c_numeric numeric(12,4), c_text varchar(100), c_bytes bytea, c_date date,"
                    + " c_time time, c_ts timestamp, c_uuid uuid, c_null integer)");
            st.execute("CREATE TABLE " + tx + " (id integer PRIMARY KEY, v varchar(20))");
            st.execute("CREATE TABLE " + fetch + " (id integer PRIMARY KEY, v integer NOT NULL)");
        }
        return new LinkedHashMap<>();
    }

    private Map<String, Object> teardown() throws SQLException {
        dropAll();
        return new LinkedHashMap<>();
    }

    private void dropAll() throws SQLException {
        try (Statement st = conn.createStatement()) {
            for (String t : List.of(child, parent, types, tx, fetch)) {
                st.execute("DROP TABLE IF EXISTS " + t);
            }
        }
    }

    private Map<String, Object> tables() throws SQLException {
        Map<String, Object> r = rows(conn.getMetaData().getTables(null, "public", "j%", new String[] {"TABLE"}),
                "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
        // also the unfiltered form DBeaver and most tools use first
        Map<String, Object> all = rows(conn.getMetaData().getTables(null, null, "%", null), "TABLE_NAME");
        r.put("all_count", ((List<?>) all.get("rows")).size());
        return r;
    }

    /** One row holding every type, written through setXxx/setObject and read back. */
    private void roundTrip() {
        byte[] bytes = {0, 1, 2, 0x27, 0x5c, 127, (byte) 128, (byte) 255};
        UUID uuid = UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        Object[][] cases = {
            // name, column, sent value (what the reader must get back)
            {"int", "c_int", Integer.MAX_VALUE},
            {"long", "c_long", 9007199254740993L},  // 2^53 + 1: lost if anything goes through a double
            {"short", "c_short", Short.MIN_VALUE},
            {"boolean", "c_bool", Boolean.TRUE},
            {"double", "c_double", 3.141592653589793},
            {"float", "c_float", 1.25f},
            {"bigdecimal", "c_numeric", new BigDecimal("12345678.1234")},
            {"string", "c_text", "h\u00e9llo 'w\u00f6rld' \u2713"},
            {"bytes", "c_bytes", bytes},
            {"date", "c_date", Date.valueOf("2024-02-29")},
            {"time", "c_time", Time.valueOf("13:45:56")},
            {"timestamp", "c_ts", Timestamp.valueOf("2024-02-29 13:45:56.123456")},
            {"uuid", "c_uuid", uuid},
            {"null", "c_null", null},
        };
        StringBuilder cols = new StringBuilder("id");
        StringBuilder marks = new StringBuilder("?");
        for (Object[] c : cases) {
            cols.append(", ").append(c[1]);
            marks.append(", ?");
        }
        String insert = "INSERT INTO " + types + " (" + cols + ") VALUES (" + marks + ")";
        String select = "SELECT " + cols + " FROM " + types + " WHERE id = ?";
        SQLException failed = null;
        String failedAt = null;
        Map<String, Map<String, Object>> results = new LinkedHashMap<>();
        try {
            try (PreparedStatement ps = conn.prepareStatement(insert)) {
                ps.setInt(1, 1);
                ps.setInt(2, (Integer) cases[0][2]);
                ps.setLong(3, (Long) cases[1][2]);
                ps.setShort(4, (Short) cases[2][2]);
                ps.setBoolean(5, (Boolean) cases[3][2]);
                ps.setDouble(6, (Double) cases[4][2]);
                ps.setFloat(7, (Float) cases[5][2]);
                ps.setBigDecimal(8, (BigDecimal) cases[6][2]);
                ps.setString(9, (String) cases[7][2]);
                ps.setBytes(10, bytes);
                ps.setDate(11, (Date) cases[9][2]);
                ps.setTime(12, (Time) cases[10][2]);
                ps.setTimestamp(13, (Timestamp) cases[11][2]);
                ps.setObject(14, uuid);
                ps.setNull(15, Types.INTEGER);
                int n = ps.executeUpdate();
                if (n != 1) {
                    throw new SQLException("insert reported " + n + " rows");
                }
            }
        } catch (SQLException e) {
            failed = e;
            failedAt = "insert";
        }
        if (failed == null) {
            try (PreparedStatement ps = conn.prepareStatement(select)) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new SQLException("row not found");
                    }
                    ResultSetMetaData md = rs.getMetaData();
                    for (int i = 0; i < cases.length; i++) {
                        int col = i + 2;
                        Object sent = cases[i][2];
                        Object got;
                        boolean ok;
                        switch ((String) cases[i][0]) {
                            case "int" -> { got = rs.getInt(col); ok = sent.equals(got); }
                            case "long" -> { got = rs.getLong(col); ok = sent.equals(got); }
                            case "short" -> { got = rs.getShort(col); ok = sent.equals(got); }
                            case "boolean" -> { got = rs.getBoolean(col); ok = sent.equals(got); }
                            case "double" -> { got = rs.getDouble(col); ok = sent.equals(got); }
                            case "float" -> { got = rs.getFloat(col); ok = sent.equals(got); }
                            case "bigdecimal" -> {
                                got = rs.getBigDecimal(col);
                                ok = got != null && ((BigDecimal) sent).compareTo((BigDecimal) got) == 0;
                            }
                            case "string" -> { got = rs.getString(col); ok = sent.equals(got); }
                            case "bytes" -> {
                                byte[] b = rs.getBytes(col);
                                got = b == null ? null : HexFormat.of().formatHex(b);
                                ok = Arrays.equals(bytes, b);
                            }
                            case "date" -> { got = rs.getDate(col); ok = sent.equals(got); }
                            case "time" -> { got = rs.getTime(col); ok = sent.equals(got); }
                            case "timestamp" -> { got = rs.getTimestamp(col); ok = sent.equals(got); }
                            case "uuid" -> {
                                Object o = rs.getObject(col);
                                got = o;
                                ok = sent.equals(o) || (o != null && sent.toString().equals(o.toString()));
                            }
                            case "null" -> {
                                got = rs.getObject(col);
                                ok = got == null && rs.wasNull();
                            }
                            default -> throw new IllegalStateException();
                        }
                        Object obj = rs.getObject(col);
                        Map<String, Object> r = new LinkedHashMap<>();
                        r.put("sent", sent instanceof byte[] b ? HexFormat.of().formatHex(b) : str(sent));
                        r.put("got", str(got));
                        r.put("value_ok", ok);
                        r.put("column_type", md.getColumnTypeName(col));
                        r.put("object_class", obj == null ? null : obj.getClass().getName());
                        results.put((String) cases[i][0], r);
                    }
                }
            } catch (SQLException e) {
                failed = e;
                failedAt = "select";
            }
        }
        for (Object[] c : cases) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("check", "roundtrip");
            line.put("type", c[0]);
            if (failed != null) {
                line.put("ok", false);
                line.put("stage", failedAt);
                putError(line, failed);
            } else {
                Map<String, Object> r = results.get((String) c[0]);
                line.put("ok", r.get("value_ok"));
                line.putAll(r);
            }
            emit(line);
        }
    }

    private Map<String, Object> transaction() throws SQLException {
        Map<String, Object> r = new LinkedHashMap<>();
        conn.setAutoCommit(false);
        try {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + tx + " (id, v) VALUES (?, ?)")) {
                ps.setInt(1, 1);
                ps.setString(2, "rolled back");
                ps.executeUpdate();
                r.put("seen_inside", count(tx));
                conn.rollback();
                r.put("after_rollback", count(tx));
                ps.setInt(1, 2);
                ps.setString(2, "kept");
                ps.executeUpdate();
                conn.commit();
            }
        } finally {
            conn.setAutoCommit(true);
        }
        r.put("after_commit", column("SELECT v FROM " + tx + " ORDER BY id"));
        return r;
    }

    private Map<String, Object> errorThenQuery() throws SQLException {
        Map<String, Object> r = new LinkedHashMap<>();
        try (Statement st = conn.createStatement()) {
            st.executeQuery("SELECT * FROM " + missing);
            r.put("error_raised", false);
        } catch (SQLException e) {
            r.put("error_raised", true);
            putError(r, e);
        }
        // the same through the extended protocol (a PreparedStatement)
        try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM " + missing + " WHERE id = ?")) {
            ps.setInt(1, 1);
            ps.executeQuery();
            r.put("prepared_error_raised", false);
        } catch (SQLException e) {
            r.put("prepared_error_raised", true);
            r.put("prepared_sqlstate", e.getSQLState());
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT ? + 1")) {
            ps.setInt(1, 41);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                r.put("after", rs.getInt(1));
            }
        }
        return r;
    }

    private Map<String, Object> errorInTransaction() throws SQLException {
        Map<String, Object> r = new LinkedHashMap<>();
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
            try {
                st.executeQuery("SELECT * FROM " + missing);
            } catch (SQLException e) {
                r.put("sqlstate", e.getSQLState());
            }
            try {
                st.executeQuery("SELECT 1");
                r.put("aborted_sqlstate", null);
            } catch (SQLException e) {
                r.put("aborted_sqlstate", e.getSQLState());
            }
            conn.rollback();
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                rs.next();
                r.put("after_rollback", rs.getInt(1));
            }
        } finally {
            conn.setAutoCommit(true);
        }
        return r;
    }

    private Map<String, Object> fetchSize() throws SQLException {
        final int n = 1200;
        Map<String, Object> r = new LinkedHashMap<>();
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + fetch + " (id, v) VALUES (?, ?)")) {
            for (int i = 1; i <= n; i++) {
                ps.setInt(1, i);
                ps.setInt(2, i * 3);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            r.put("batch_statements", counts.length);
        }
        // pgjdbc logs each protocol message at FINEST: count the Executes with a row limit and
        // the PortalSuspended answers, to show the read really went 50 rows at a time.
        AtomicInteger limitedExecutes = new AtomicInteger();
        AtomicInteger suspended = new AtomicInteger();
        Handler counter = new Handler() {
            @Override
            public void publish(LogRecord rec) {
                String msg = rec.getMessage();
                Object[] params = rec.getParameters();
                if (msg == null) {
                    return;
                }
                if (msg.contains("PortalSuspended")) {
                    suspended.incrementAndGet();
                } else if (msg.contains("FE=> Execute") && params != null && params.length >= 2
                        && "50".equals(String.valueOf(params[1]))) {
                    limitedExecutes.incrementAndGet();
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        counter.setLevel(Level.ALL);
        Logger pgLog = Logger.getLogger("org.postgresql");
        Level oldLevel = pgLog.getLevel();
        conn.setAutoCommit(false);
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, v FROM " + fetch + " ORDER BY id")) {
            pgLog.setUseParentHandlers(false);
            pgLog.addHandler(counter);
            pgLog.setLevel(Level.FINEST);
            ps.setFetchSize(50);
            long rows = 0;
            long sum = 0;
            boolean ordered = true;
            int last = 0;
            try (ResultSet rs = ps.executeQuery()) {
                r.put("fetch_size", rs.getFetchSize());
                while (rs.next()) {
                    int id = rs.getInt(1);
                    ordered &= id == last + 1 && rs.getInt(2) == id * 3;
                    last = id;
                    rows++;
                    sum += rs.getInt(2);
                }
            }
            conn.commit();
            r.put("limited_executes", limitedExecutes.get());
            r.put("portal_suspended", suspended.get());
            r.put("rows", rows);
            r.put("sum", sum);
            r.put("ordered", ordered);
        } finally {
            pgLog.removeHandler(counter);
            pgLog.setLevel(oldLevel);
            pgLog.setUseParentHandlers(true);
            conn.setAutoCommit(true);
        }
        return r;
    }

    // --- helpers ----------------------------------------------------------------------------

    private long count(String table) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private List<Object> column(String sql) throws SQLException {
        List<Object> out = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getObject(1));
            }
        }
        return out;
    }

    private static Map<String, Object> rows(ResultSet rs, String... columns) throws SQLException {
        List<Object> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (String c : columns) {
                    row.put(c, rs.getObject(c));
                }
                out.add(row);
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("rows", out);
        return r;
    }

    private void check(String name, Body body) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("check", name);
        try {
            Map<String, Object> r = body.run();
            line.put("ok", true);
            line.putAll(r);
        } catch (Exception e) {
            line.put("ok", false);
            putError(line, e);
            try {
                if (!conn.getAutoCommit()) {
                    conn.rollback();
                    conn.setAutoCommit(true);
                }
            } catch (SQLException ignored) {
                // the connection is gone; later checks will say so
            }
        }
        emit(line);
    }

    private static void putError(Map<String, Object> line, Exception e) {
        line.put("sqlstate", e instanceof SQLException s ? s.getSQLState() : null);
        line.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    private static void emit(Map<String, Object> line) {
        StringBuilder sb = new StringBuilder();
        json(sb, line);
        System.out.println(sb);
        System.out.flush();
    }

    private static void json(StringBuilder sb, Object o) {
        if (o == null) {
            sb.append("null");
        } else if (o instanceof Boolean || o instanceof Integer || o instanceof Long || o instanceof Short) {
            sb.append(o);
        } else if (o instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                string(sb, Objects.toString(e.getKey()));
                sb.append(':');
                json(sb, e.getValue());
            }
            sb.append('}');
        } else if (o instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                json(sb, l.get(i));
            }
            sb.append(']');
        } else {
            string(sb, o.toString());
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        sb.append('"');
    }
}

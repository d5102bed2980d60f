//! mssql-mock-tds (crates.io) answering the canned results pgproxy's SQL Server tests read.
//!
//! Usage: pgproxy-mssql-mock PORT [CERT.pem KEY.pem]. With a certificate the server
//! offers TLS (TDS 7.4: the handshake inside PreLogin packets). Prints "ready HOST:PORT"
//! once listening. Queries are matched by their whole text, case-insensitively, and
//! are the T-SQL the proxy generates for the tests' PostgreSQL statements.

use std::time::Duration;

use mssql_mock_tds::{
    ColumnDefinition, ColumnValue, MockTdsServer, QueryResponse, Row, SqlDataType, TerminalError,
};

fn text(value: &str) -> ColumnValue {
    ColumnValue::NVarCharMax(vec![value.encode_utf16().collect()])
}

fn error(number: u32, message: &str) -> QueryResponse {
    QueryResponse::error_only(TerminalError::new(number, 16, message))
}

fn people() -> QueryResponse {
    QueryResponse::new(
        vec![
            ColumnDefinition::new("id", SqlDataType::Int),
            ColumnDefinition::new("name", SqlDataType::NVarCharMax),
            ColumnDefinition::new("visits", SqlDataType::BigInt),
        ],
        vec![
            Row::new(vec![ColumnValue::Int(1), text("Alice"), ColumnValue::BigInt(1 << 40)]),
            Row::new(vec![ColumnValue::Int(2), text("Zoë ✓"), ColumnValue::Null]),
            Row::new(vec![ColumnValue::Int(3), ColumnValue::NVarCharMaxNull, ColumnValue::BigInt(-7)]),
        ],
    )
}

fn big(rows: i32) -> QueryResponse {
    QueryResponse::new(
        vec![ColumnDefinition::new("n", SqlDataType::Int)],
        (1..=rows).map(|n| Row::new(vec![ColumnValue::Int(n)])).collect(),
    )
}

fn texts(names: &[&str]) -> Vec<ColumnDefinition> {
    names.iter().map(|n| ColumnDefinition::new(*n, SqlDataType::NVarCharMax)).collect()
}

fn int_or_null(value: Option<i32>) -> ColumnValue {
    value.map_or(ColumnValue::Null, ColumnValue::Int)
}

fn text_or_null(value: Option<&str>) -> ColumnValue {
    value.map_or(ColumnValue::NVarCharMaxNull, text)
}

/// The catalog's reads (pgproxy/catalog/introspect_mssql.py), answering one table:
/// people (id INT IDENTITY PRIMARY KEY, name NVARCHAR(MAX), visits BIGINT DEFAULT 0).
fn register_catalog(r: &mut mssql_mock_tds::QueryRegistry) {
    r.register(
        "SELECT TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'dbo' ORDER BY TABLE_NAME",
        QueryResponse::new(texts(&["TABLE_NAME", "TABLE_TYPE"]),
                           vec![Row::new(vec![text("people"), text("BASE TABLE")])]),
    );
    r.register(
        "SELECT OBJECT_NAME(object_id), name FROM sys.identity_columns WHERE OBJECT_SCHEMA_NAME(object_id) = 'dbo'",
        QueryResponse::new(texts(&["table", "name"]), vec![Row::new(vec![text("people"), text("id")])]),
    );
    let mut columns = texts(&["TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "IS_NULLABLE", "COLUMN_DEFAULT"]);
    for name in ["CHARACTER_MAXIMUM_LENGTH", "NUMERIC_PRECISION", "NUMERIC_SCALE"] {
        columns.push(ColumnDefinition::new(name, SqlDataType::Int));
    }
    let column = |name: &str, kind: &str, nullable: &str, default: Option<&str>,
                  len: Option<i32>, precision: Option<i32>, scale: Option<i32>| {
        Row::new(vec![text("people"), text(name), text(kind), text(nullable), text_or_null(default),
                      int_or_null(len), int_or_null(precision), int_or_null(scale)])
    };
    r.register(
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'dbo' ORDER BY TABLE_NAME, ORDINAL_POSITION",
        QueryResponse::new(columns, vec![
            column("id", "int", "NO", None, None, Some(10), Some(0)),
            column("name", "nvarchar", "YES", None, Some(-1), None, None),
            column("visits", "bigint", "YES", Some("((0))"), None, Some(19), Some(0)),
        ]),
    );
    let mut index = texts(&["table", "index"]);
    for name in ["is_unique", "is_primary_key", "is_unique_constraint"] {
        index.push(ColumnDefinition::new(name, SqlDataType::Int));
    }
    index.push(ColumnDefinition::new("column", SqlDataType::NVarCharMax));
    index.push(ColumnDefinition::new("is_descending_key", SqlDataType::Int));
    r.register(
        "SELECT t.name, i.name, i.is_unique, i.is_primary_key, i.is_unique_constraint, c.name, ic.is_descending_key FROM sys.indexes i JOIN sys.tables t ON t.object_id = i.object_id JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id WHERE SCHEMA_NAME(t.schema_id) = 'dbo' AND i.name IS NOT NULL AND ic.is_included_column = 0 ORDER BY t.name, i.name, ic.key_ordinal",
        QueryResponse::new(index, vec![Row::new(vec![
            text("people"), text("PK_people"), ColumnValue::Int(1), ColumnValue::Int(1),
            ColumnValue::Int(0), text("id"), ColumnValue::Int(0),
        ])]),
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = format!("127.0.0.1:{}", args.get(1).map(String::as_str).unwrap_or("0"));
    let server = match (args.get(2), args.get(3)) {
        (Some(cert), Some(key)) => {
            let identity =
                mssql_mock_tds::create_test_identity(&std::fs::read(cert)?, &std::fs::read(key)?)?;
            MockTdsServer::new_with_tls(&addr, Some(identity)).await?
        }
        _ => MockTdsServer::new(&addr).await?,
    };
    {
        let registry = server.query_registry();
        let mut r = registry.lock().await;
        r.register("SELECT id, name, visits FROM people", people());
        // The mock frames a whole response as one TDS packet, and python-tds reads no
        // packet past the 4,096 bytes negotiated: 600 INT rows (6 bytes each) fit one.
        r.register("SELECT n FROM big", big(600));
        r.register("SELECT n FROM small", big(3));
        r.register("SELECT n FROM slow", big(1).with_delay(Duration::from_secs(60)));
        // The proxy binds the statement's constants as sp_executesql parameters, which the
        // mock finds by the statement's text in the RPC: upper-case, as it compares.
        r.register(
            "INSERT INTO [PEOPLE] ([ID]) VALUES (@P1)",
            error(2627, "Violation of PRIMARY KEY constraint 'PK_people'. Cannot insert \
                         duplicate key in object 'dbo.people'. The duplicate key value is (1)."),
        );
        r.register("SELECT * FROM missing", error(208, "Invalid object name 'missing'."));
        register_catalog(&mut r);
        r.register(
            "SELECT 1 / 0 AS [?column?]",
            error(8134, "Divide by zero error encountered."),
        );
        r.register(
            "SELECT * FROM orders FOR SYSTEM_TIME AS OF '2025-01-01 10:00:00'",
            error(13544, "Temporal FOR SYSTEM_TIME clause can only be used with \
                          system-versioned tables. 'app.dbo.orders' is not a system-versioned table."),
        );
    }
    println!("ready {}", server.local_addr());
    server.run().await?;
    Ok(())
}

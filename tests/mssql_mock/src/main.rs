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

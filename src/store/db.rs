//! One connection to either backend: an SQLite file (rusqlite) or a
//! PostgreSQL server (the `postgres` crate).
//!
//! In: SQL written once with `?N` placeholders, parameters as [`Value`]s.
//! Out: rows of owned [`Value`]s read by position, row counts, transactions
//! and savepoints that nest. The store's files write their SQL in the subset
//! both dialects share (`ON CONFLICT`, `RETURNING`, `CASE`, `coalesce`); where
//! they differ a file asks [`Db::dialect`].
//!
//! PostgreSQL is reached through a thread of its own: the `postgres` client
//! runs a small runtime and must not be driven from inside the daemon's tokio
//! tasks, which call the store synchronously. The thread reconnects when the
//! server went away; work that was inside a transaction then fails (and is
//! rolled back by the server) instead of carrying on outside it.

use super::{Result, StoreError};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Which SQL the connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One value in or out of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A Rust value as a statement parameter (by reference: `args!` borrows).
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, bool);

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// Parameters for one statement: `args![a, b, c]` (each borrowed).
macro_rules! args {
    () => { &[] as &[$crate::store::db::Value] };
    ($($v:expr),+ $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$v)),+] as &[$crate::store::db::Value]
    };
}
pub(crate) use args;

/// A value read back as a Rust type; `None` when the column holds another type.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> Option<u32> {
        i64::from_value(v).and_then(|i| u32::try_from(i).ok())
    }
}
impl FromValue for u16 {
    fn from_value(v: &Value) -> Option<u16> {
        i64::from_value(v).and_then(|i| u16::try_from(i).ok())
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<bool> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<f64> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row of a result, read by column position.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// The raw value of column `i` (Null past the end).
    pub fn value(&self, i: usize) -> &Value {
        self.0.get(i).unwrap_or(&Value::Null)
    }

    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| StoreError::Column(format!("the query has no column {i}")))?;
        T::from_value(v).ok_or_else(|| {
            StoreError::Column(format!(
                "column {i} holds {v:?}, not a {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// An open connection. Not shared between threads at once (`Store` is not
/// `Sync`), but it may move between them.
pub struct Db {
    conn: Conn,
    /// How deep the open transaction is: 0 outside one.
    depth: Cell<u32>,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Pg),
}

impl Db {
    pub fn sqlite(conn: rusqlite::Connection) -> Db {
        Db {
            conn: Conn::Sqlite(conn),
            depth: Cell::new(0),
        }
    }

    /// Connect to the PostgreSQL server at `url`; `read_only` makes every
    /// transaction of the session read-only.
    pub fn postgres(url: &str, read_only: bool) -> Result<Db> {
        Ok(Db {
            conn: Conn::Postgres(Pg::connect(url, read_only)?),
            depth: Cell::new(0),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The rusqlite connection, for what only SQLite has (PRAGMAs, migrations).
    pub fn sqlite_conn(&self) -> Option<&rusqlite::Connection> {
        match &self.conn {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    pub fn sqlite_conn_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.conn {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// Run a statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<usize> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(params.iter()))?),
            Conn::Postgres(pg) => pg.execute(sql, params),
        }
    }

    /// Every row of a query.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut vals = Vec::with_capacity(n);
                    for i in 0..n {
                        vals.push(sqlite_value(r.get_ref(i)?));
                    }
                    out.push(Row(vals));
                }
                Ok(out)
            }
            Conn::Postgres(pg) => pg.query(sql, params),
        }
    }

    /// Every row of a query, each made into a `T` by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row of a query, if there is one.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.query(sql, params)?.first() {
            Some(r) => f(r).map(Some),
            None => Ok(None),
        }
    }

    /// The first row of a query that always returns one (an aggregate).
    pub fn query_one<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| StoreError::Column(format!("no row from: {sql}")))
    }

    /// An INSERT … RETURNING id: the new row's id.
    pub fn insert_id(&self, sql: &str, params: &[Value]) -> Result<i64> {
        self.query_one(sql, params, |r| r.get(0))
    }

    /// Statements without parameters, run as they are.
    pub fn batch_execute(&self, sql: &str) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => pg.batch(sql),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.depth.get() > 0
    }

    /// For [`Store::batch`](super::Store::batch), which opens the outermost
    /// transaction itself (its closure needs the store mutably).
    pub fn set_depth(&self, depth: u32) {
        self.depth.set(depth);
    }

    /// Start a transaction (or, inside one, a savepoint). Dropped without
    /// [`Tx::commit`], its writes are rolled back.
    pub fn begin(&self, write: bool) -> Result<Tx<'_>> {
        let depth = self.depth.get();
        let sql = if depth > 0 {
            format!("SAVEPOINT sp{depth}")
        } else {
            match (self.dialect(), write) {
                (Dialect::Sqlite, true) => "BEGIN IMMEDIATE".into(),
                (Dialect::Sqlite, false) => "BEGIN DEFERRED".into(),
                (Dialect::Postgres, true) => "BEGIN".into(),
                (Dialect::Postgres, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ".into(),
            }
        };
        self.batch_execute(&sql)?;
        self.depth.set(depth + 1);
        Ok(Tx {
            db: self,
            depth,
            done: false,
        })
    }
}

/// An open transaction or savepoint.
pub struct Tx<'a> {
    db: &'a Db,
    /// The depth it was opened at: 0 for the transaction itself.
    depth: u32,
    done: bool,
}

impl Tx<'_> {
    /// Is this the transaction itself (not a savepoint inside one)?
    pub fn is_outermost(&self) -> bool {
        self.depth == 0
    }

    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.db.depth.set(self.depth);
        if self.depth == 0 {
            self.db.batch_execute("COMMIT")
        } else {
            self.db
                .batch_execute(&format!("RELEASE SAVEPOINT sp{}", self.depth))
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.db.depth.set(self.depth);
        let _ = if self.depth == 0 {
            self.db.batch_execute("ROLLBACK")
        } else {
            self.db.batch_execute(&format!(
                "ROLLBACK TO SAVEPOINT sp{0}; RELEASE SAVEPOINT sp{0}",
                self.depth
            ))
        };
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

// ---- PostgreSQL ----

/// `?N` placeholders as PostgreSQL's `$N` (the SQL holds no `?` elsewhere).
fn to_dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

mod pgtypes {
    use super::Value;
    use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxError = Box<dyn Error + Sync + Send>;

    impl ToSql for Value {
        fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(i) => match *ty {
                    Type::INT8 => i.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                    Type::BOOL => (*i != 0).to_sql(ty, out),
                    Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                    _ => Err(format!("an integer cannot be sent as {ty}").into()),
                },
                Value::Real(f) => match *ty {
                    Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                    _ => f.to_sql(ty, out),
                },
                Value::Text(s) => s.as_str().to_sql(ty, out),
                Value::Blob(b) => b.as_slice().to_sql(ty, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Value {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
            Ok(match *ty {
                Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
                Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
                Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
                Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
                Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
                Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
                Type::BYTEA => Value::Blob(raw.to_vec()),
                _ => Value::Text(String::from_sql(&Type::TEXT, raw)?),
            })
        }

        fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
            Ok(Value::Null)
        }

        fn accepts(_: &Type) -> bool {
            true
        }
    }
}

type Job = Box<dyn FnOnce(&mut PgSession) + Send>;

/// The handle to the connection's thread.
struct Pg {
    jobs: mpsc::Sender<Job>,
}

/// What the connection's thread owns.
struct PgSession {
    url: String,
    read_only: bool,
    client: Option<postgres::Client>,
    statements: HashMap<String, postgres::Statement>,
    /// A transaction was open when the connection was lost: every statement
    /// fails until the caller rolls it back.
    lost_in_transaction: bool,
    in_transaction: bool,
}

/// How long a lost connection is retried before a statement fails.
const RECONNECT_FOR: Duration = Duration::from_secs(30);

impl Pg {
    fn connect(url: &str, read_only: bool) -> Result<Pg> {
        let mut session = PgSession {
            url: url.to_string(),
            read_only,
            client: None,
            statements: HashMap::new(),
            lost_in_transaction: false,
            in_transaction: false,
        };
        let (jobs, rx) = mpsc::channel::<Job>();
        let (opened, first) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("capwatch-postgres".into())
            .spawn(move || {
                // The first connection fails at once: a wrong URL is not
                // waited on. (On this thread: the client runs its own runtime.)
                let ok = session.open();
                let failed = ok.is_err();
                let _ = opened.send(ok);
                if failed {
                    return;
                }
                while let Ok(job) = rx.recv() {
                    job(&mut session);
                }
            })
            .map_err(|e| {
                StoreError::Postgres(format!("cannot start the connection thread: {e}"))
            })?;
        first
            .recv()
            .map_err(|_| StoreError::Postgres("the connection thread stopped".into()))??;
        Ok(Pg { jobs })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgSession) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |s: &mut PgSession| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| StoreError::Postgres("the connection thread stopped".into()))?;
        rx.recv()
            .map_err(|_| StoreError::Postgres("the connection thread stopped".into()))?
    }

    /// Prepare `sql` (cached) and run `f` with the statement and the
    /// parameters on the connection's thread.
    fn statement<T: Send + 'static>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(
            &mut postgres::Client,
            &postgres::Statement,
            &[&(dyn postgres::types::ToSql + Sync)],
        ) -> std::result::Result<T, postgres::Error>
        + Send
        + 'static,
    ) -> Result<T> {
        let sql = sql.to_string();
        let params = params.to_vec();
        self.run(move |s| {
            let stmt = s.prepare(&sql)?;
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                params.iter().map(|p| p as _).collect();
            f(s.client()?, &stmt, &refs).map_err(|e| s.failed(e))
        })
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize> {
        let n = self.statement(sql, params, |c, stmt, refs| c.execute(stmt, refs))?;
        Ok(n as usize)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let rows = self.statement(sql, params, |c, stmt, refs| c.query(stmt, refs))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map(Row)
                    .map_err(|e| StoreError::Postgres(e.to_string()))
            })
            .collect()
    }

    fn batch(&self, sql: &str) -> Result<()> {
        let sql = sql.to_string();
        self.run(move |s| {
            let word = sql
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let ends = word == "ROLLBACK" && !sql.contains("SAVEPOINT") || word == "COMMIT";
            if s.lost_in_transaction {
                if ends {
                    s.lost_in_transaction = false;
                    s.in_transaction = false;
                }
                if word == "ROLLBACK" || word == "RELEASE" {
                    return Ok(());
                }
                return Err(lost());
            }
            s.client()?.batch_execute(&sql).map_err(|e| s.failed(e))?;
            if word == "BEGIN" {
                s.in_transaction = true;
            } else if ends {
                s.in_transaction = false;
            }
            Ok(())
        })
    }
}

fn lost() -> StoreError {
    StoreError::Postgres(
        "the connection to PostgreSQL was lost inside a transaction; its work was rolled back and will be done again"
            .into(),
    )
}

impl PgSession {
    fn open(&mut self) -> Result<()> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls)
            .map_err(|e| StoreError::Postgres(redact_error(&e, &self.url)))?;
        client
            .batch_execute(if self.read_only {
                "SET default_transaction_read_only = on; SET TIME ZONE 'UTC'"
            } else {
                "SET TIME ZONE 'UTC'"
            })
            .map_err(|e| StoreError::Postgres(e.to_string()))?;
        self.client = Some(client);
        self.statements.clear();
        Ok(())
    }

    /// The live client, reconnecting (for up to [`RECONNECT_FOR`]) when the
    /// server closed the last one.
    fn client(&mut self) -> Result<&mut postgres::Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            if self.in_transaction {
                self.lost_in_transaction = true;
                self.client = None;
                return Err(lost());
            }
            let start = Instant::now();
            let mut wait = Duration::from_millis(100);
            loop {
                match self.open() {
                    Ok(()) => {
                        tracing::info!("reconnected to PostgreSQL");
                        break;
                    }
                    Err(e) if start.elapsed() >= RECONNECT_FOR => return Err(e),
                    Err(_) => {
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(Duration::from_secs(2));
                    }
                }
            }
        }
        Ok(self.client.as_mut().expect("opened above"))
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql)
            && !self.client.as_ref().is_none_or(|c| c.is_closed())
        {
            return Ok(s.clone());
        }
        let text = to_dollars(sql);
        let stmt = self.client()?.prepare(&text).map_err(|e| self.failed(e))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    /// A statement failed: if the connection went with it, remember whether
    /// a transaction was lost.
    fn failed(&mut self, e: postgres::Error) -> StoreError {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
            if self.in_transaction {
                self.lost_in_transaction = true;
            }
        }
        if let Some(db) = e.as_db_error() {
            let mut msg = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                msg.push_str(&format!(" ({d})"));
            }
            StoreError::Postgres(msg)
        } else {
            StoreError::Postgres(e.to_string())
        }
    }
}

/// The error of a failed connection without the password the URL may hold.
fn redact_error(e: &postgres::Error, url: &str) -> String {
    let msg = e.to_string();
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        Some(p) if !p.is_empty() => msg.replace(&p, "***"),
        _ => msg,
    }
}

/// `url` as it may be shown: the password replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Is this database setting a PostgreSQL URL (rather than an SQLite path)?
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_redaction() {
        assert_eq!(to_dollars("a = ?1 AND b = ?12"), "a = $1 AND b = $12");
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert!(is_postgres_url("postgresql://h/db") && !is_postgres_url("/tmp/c.db"));
    }

    #[test]
    fn savepoints_nest_and_roll_back() {
        let db = Db::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        db.batch_execute("CREATE TABLE t (v INTEGER)").unwrap();
        let tx = db.begin(true).unwrap();
        db.execute("INSERT INTO t VALUES (?1)", args![1i64])
            .unwrap();
        {
            let inner = db.begin(true).unwrap();
            db.execute("INSERT INTO t VALUES (?1)", args![2i64])
                .unwrap();
            drop(inner); // rolled back
        }
        assert!(db.in_transaction());
        tx.commit().unwrap();
        assert!(!db.in_transaction());
        let n: i64 = db
            .query_one("SELECT count(*) FROM t", args![], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let v: Option<String> = db
            .query_opt("SELECT NULL", args![], |r| r.get(0))
            .unwrap()
            .unwrap();
        assert_eq!(v, None);
    }
}

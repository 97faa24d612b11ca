//! The export jobs' table on SQLite and (with `CEX_TEST_PG_URL`) PostgreSQL: a user's active
//! jobs are bounded, a job is visible to its requester only, and jobs a stopped node left
//! unfinished are marked failed.

#[allow(dead_code)] // Not every helper is needed here.
#[path = "../../identity/tests/common/db.rs"]
mod db;

use cex_history::exports::{self, ExportRequest, INTERRUPTED};
use cex_identity::store::Store;

fn request(user_id: i64) -> ExportRequest {
    ExportRequest {
        user_id,
        symbol: "BTC-USDT".into(),
        data_type: "klines".into(),
        interval: Some("1h".into()),
        start_ms: 1_000,
        end_ms: 2_000,
    }
}

#[tokio::test]
async fn active_jobs_are_bounded_per_user_and_private() {
    for db in db::test_dbs().await {
        let store = Store::connect(&db.url()).await.unwrap();
        cex_history::migrate(&store).await.unwrap();
        let first = exports::create(&store, &request(1), 2, 10).await.unwrap().unwrap();
        let second = exports::create(&store, &request(1), 2, 11).await.unwrap().unwrap();
        assert_eq!(exports::create(&store, &request(1), 2, 12).await.unwrap(), None, "{}: a third", db.name);
        let other = exports::create(&store, &request(2), 2, 12).await.unwrap();
        assert!(other.is_some(), "{}: another user has their own limit", db.name);

        exports::set_running(&store, first, 20).await.unwrap();
        exports::set_done(&store, first, 42, 30).await.unwrap();
        let third = exports::create(&store, &request(1), 2, 31).await.unwrap();
        assert!(third.is_some(), "{}: a finished job frees its place", db.name);

        let job = exports::job_of(&store, first, 1).await.unwrap().unwrap();
        assert_eq!(
            (job.status.as_str(), job.rows, job.request, job.created_ms, job.updated_ms),
            ("done", 42, request(1), 10, 30)
        );
        assert_eq!(exports::job_of(&store, first, 2).await.unwrap(), None, "{}: not another user's", db.name);

        assert_eq!(exports::fail_interrupted(&store, 40).await.unwrap(), 3, "{}", db.name);
        let job = exports::job_of(&store, second, 1).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.error.as_deref()), ("failed", Some(INTERRUPTED)));
        let done = exports::job_of(&store, first, 1).await.unwrap().unwrap();
        assert_eq!(done.status, "done", "{}: a finished job stays done", db.name);
        store.close().await;
    }
}

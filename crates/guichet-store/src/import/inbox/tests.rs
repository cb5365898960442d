//! The inbox against a real PostgreSQL (and a SQLite file not there yet): a file the database
//! cannot take now is kept for the next poll, not refused; a database out of reach at the
//! start is tried again.

use super::*;
use crate::Backend;
use crate::testing::TestDatabase;

const BANK: &str = "30258";
const BIC: &str = "BTPBFRPPXXX";

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "guichet-inbox-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn inbox(dir: &Path) -> Inbox {
    Inbox::new(dir, vec![(BANK.to_owned(), BIC.to_owned())]).unwrap_or_else(|e| panic!("{e}"))
}

/// The sandbox's bank seeded in `store`, and its day's statement as the bank exports it.
async fn seeded_statement(store: &Store) -> String {
    store
        .seed_sandbox(&[BANK], jiff::civil::date(2026, 12, 7), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .export_camt(BANK, "2026-12-07T18:00:00", BIC)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .statement
}

async fn pass(inbox: &mut Inbox, store: &Store) -> InboxPass {
    inbox.pass(store).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_statement_the_database_cannot_take_is_kept_for_the_next_poll_then_imported() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let store = Store::connect(&db.url, 4)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let statement = seeded_statement(&store).await;
    let dir = folder("outage");
    let file = dir.join("statement.xml");
    std::fs::write(&file, &statement).unwrap_or_else(|e| panic!("{e}"));
    let report = dir.join("statement2.xml");
    std::fs::write(&report, &statement).unwrap_or_else(|e| panic!("{e}"));
    // PostgreSQL out of reach, as in a failover: a store whose connections are closed.
    let down = Store::connect(&db.url, 4)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    down.close().await;

    let mut inbox = inbox(&dir);
    assert_eq!(
        pass(&mut inbox, &down).await,
        InboxPass::default(),
        "first seen"
    );
    // The first file kept, the pass stops: the second would meet the same database.
    let kept = pass(&mut inbox, &down).await;
    assert_eq!(kept.kept, vec![file.clone()], "{kept:?}");
    assert!(report.exists());
    assert!(kept.done.is_empty() && kept.failed.is_empty(), "{kept:?}");
    assert!(file.exists(), "left where it was");
    assert_eq!(
        std::fs::read_dir(dir.join("failed"))
            .map(|d| d.count())
            .ok(),
        Some(0),
        "nothing refused"
    );
    // Still down at the next poll: kept again, without waiting for another sighting.
    assert_eq!(pass(&mut inbox, &down).await.kept, vec![file.clone()]);

    // Back: both imported at the next poll.
    let done = pass(&mut inbox, &store).await;
    assert_eq!(
        done.done,
        vec![
            dir.join("done/statement.xml"),
            dir.join("done/statement2.xml")
        ],
        "{done:?}"
    );
    assert!(done.kept.is_empty() && done.failed.is_empty(), "{done:?}");
    assert!(!file.exists() && !report.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_refused_statement_still_goes_to_failed_and_a_file_gone_meanwhile_is_left_alone() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let store = Store::connect(&db.url, 4)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = folder("refused");
    let broken = dir.join("broken.xml");
    std::fs::write(&broken, "<Document>not a statement").unwrap_or_else(|e| panic!("{e}"));
    let mut inbox = inbox(&dir);
    pass(&mut inbox, &store).await;
    let refused = pass(&mut inbox, &store).await;
    assert_eq!(
        refused.failed,
        vec![dir.join("failed/broken.xml")],
        "{refused:?}"
    );
    assert!(refused.kept.is_empty());
    assert!(dir.join("failed/broken.xml.reason").exists());

    // Taken by another instance between the listing and the reading.
    assert!(matches!(
        inbox.take(&store, &dir.join("taken-by-another.xml")).await,
        Taken::Gone
    ));
    assert_eq!(
        moved(&dir.join("taken-by-another.xml"), &dir.join("done/x.xml")).ok(),
        Some(false)
    );
    // A folder deleted by hand is an error, not a file gone.
    let here = dir.join("here.xml");
    std::fs::write(&here, "x").unwrap_or_else(|e| panic!("{e}"));
    assert!(moved(&here, &dir.join("no-such-folder/here.xml")).is_err());
    assert!(here.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `guichet serve --inbox` started while its database is out of reach (here a SQLite file
/// whose folder is not there yet, as a volume not mounted) keeps trying every period, then
/// imports once the database is there, and stops when told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_started_before_its_database_connects_once_it_is_there() {
    let place = folder("late-database");
    let (ready, later) = (place.join("ready"), place.join("later"));
    std::fs::create_dir_all(&ready).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::connect(
        &crate::DatabaseUrl::sqlite_file(&ready.join("guichet.db")),
        4,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let statement = seeded_statement(&store).await;
    store.close().await;
    let dir = folder("late-inbox");
    std::fs::write(dir.join("statement.xml"), &statement).unwrap_or_else(|e| panic!("{e}"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let url = crate::DatabaseUrl::sqlite_file(&later.join("guichet.db"));
    let period = Duration::from_millis(100);
    let running = tokio::spawn({
        let inbox = inbox(&dir);
        async move { inbox.run_on(&url, period, stopped).await }
    });
    tokio::time::sleep(period * 4).await;
    assert!(!running.is_finished(), "it keeps trying");
    assert!(dir.join("statement.xml").exists(), "nothing taken yet");
    std::fs::rename(&ready, &later).unwrap_or_else(|e| panic!("{e}"));
    let done = dir.join("done").join("statement.xml");
    let started = std::time::Instant::now();
    while !done.exists() && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(period).await;
    }
    assert!(done.exists(), "imported once the database is there");
    let _ = stop.send(true);
    let ended = tokio::time::timeout(Duration::from_secs(5), running).await;
    assert!(
        matches!(ended, Ok(Ok(_))),
        "the inbox stops when told, without a panic: {ended:?}"
    );
    let _ = std::fs::remove_dir_all(&place);
    let _ = std::fs::remove_dir_all(&dir);
}

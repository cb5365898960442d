//! A throwaway PostgreSQL cluster for machines where none answers: made from the system's
//! binaries (`initdb`, `pg_ctl` under `/usr/lib/postgresql/<version>/bin`) in a folder of the
//! temporary directory, listening on 127.0.0.1:54329, shared by every test process of the run
//! (the first one creates and starts it under a lock file, the others wait for it) and left
//! running for the next. PostgreSQL refuses to run as root: as root, the binaries run as the
//! `postgres` system user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const PORT: u16 = 54329;

/// The admin URL of the throwaway cluster.
pub fn admin_url() -> String {
    format!("postgres://postgres@127.0.0.1:{PORT}/postgres")
}

fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL binaries in /usr/lib/postgresql ({e}); install the postgresql package"))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| "no initdb/pg_ctl under /usr/lib/postgresql/*/bin".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root.
fn run(bin: &Path, args: &[&str]) -> Result<(), String> {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = command
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {}: {}{}",
            bin.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn answers() -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], PORT)),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Makes sure the throwaway cluster runs; answers its admin URL.
pub fn ensure() -> Result<String, String> {
    if answers() {
        return Ok(admin_url());
    }
    let root = std::env::temp_dir().join("guichet-test-postgres");
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let lock = root.join("lock");
    let deadline = Instant::now() + Duration::from_secs(120);
    // One process makes the cluster; the others wait for it to answer.
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if answers() => return Ok(admin_url()),
            Err(_) if Instant::now() > deadline => {
                let _ = std::fs::remove_file(&lock);
                return Err("timed out waiting for another test to start PostgreSQL".into());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let outcome = start(&root);
    let _ = std::fs::remove_file(&lock);
    outcome.map(|()| admin_url())
}

fn start(root: &Path) -> Result<(), String> {
    if answers() {
        return Ok(());
    }
    let bin = bin_dir()?;
    let data = root.join("data");
    if is_root() {
        // The postgres user must own its folders.
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(root)
            .status();
    }
    let data_text = data.display().to_string();
    if !data.join("PG_VERSION").exists() {
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &data_text,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )?;
    }
    let log = root.join("postgres.log").display().to_string();
    let options = format!(
        "-p {PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=300",
        root.display()
    );
    run(
        &bin.join("pg_ctl"),
        &["-D", &data_text, "-o", &options, "-l", &log, "-w", "start"],
    )
}

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

fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL binaries in /usr/lib/postgresql ({e}); install the postgresql package"))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    // By version number: 16 after 9.6.
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.split('.').next())
            .and_then(|major| major.parse::<u32>().ok())
            .unwrap_or(0)
    });
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

/// A PostgreSQL cluster of the tests' own, in `root`, listening on 127.0.0.1:`port`.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    port: u16,
    /// `name=value` settings given to the server (`postgres -c`).
    settings: Vec<String>,
}

impl Cluster {
    pub fn new(root: PathBuf, port: u16) -> Cluster {
        Cluster {
            root,
            port,
            settings: Vec::new(),
        }
    }

    /// The shared throwaway cluster of the tests.
    pub fn shared() -> Cluster {
        Cluster::new(std::env::temp_dir().join("guichet-test-postgres"), PORT)
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn answers(&self) -> bool {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(300),
        )
        .is_ok()
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    /// Creates the cluster if needed and starts it.
    pub fn start(&self) -> Result<(), String> {
        if self.answers() {
            return Ok(());
        }
        let bin = bin_dir()?;
        std::fs::create_dir_all(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))?;
        if is_root() {
            // The postgres user must own its folders.
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.root)
                .status();
        }
        let data = self.data();
        if !self.root.join("data/PG_VERSION").exists() {
            run(
                &bin.join("initdb"),
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            )?;
        }
        let log = self.root.join("postgres.log").display().to_string();
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=300",
            self.port,
            self.root.display()
        );
        for setting in &self.settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        run(
            &bin.join("pg_ctl"),
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        )
    }

    /// Stops the server at once, as a crash or an operator would (`-m immediate`).
    pub fn stop(&self) -> Result<(), String> {
        let bin = bin_dir()?;
        run(
            &bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }
}

/// Makes sure the shared throwaway cluster runs; answers its admin URL.
pub fn ensure() -> Result<String, String> {
    let cluster = Cluster::shared();
    if cluster.answers() {
        return Ok(cluster.admin_url());
    }
    std::fs::create_dir_all(&cluster.root)
        .map_err(|e| format!("{}: {e}", cluster.root.display()))?;
    let lock = cluster.root.with_extension("lock");
    let deadline = Instant::now() + Duration::from_secs(120);
    // One process makes the cluster; the others wait for it to answer.
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if cluster.answers() => return Ok(cluster.admin_url()),
            // A lock left by a test process that died: taken over.
            Err(_) if is_stale(&lock) => {
                let _ = std::fs::remove_file(&lock);
            }
            Err(_) if Instant::now() > deadline => {
                let _ = std::fs::remove_file(&lock);
                return Err("timed out waiting for another test to start PostgreSQL".into());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let outcome = cluster.start();
    let _ = std::fs::remove_file(&lock);
    outcome.map(|()| cluster.admin_url())
}

/// A lock file older than two minutes: its owner died while starting the cluster.
fn is_stale(lock: &Path) -> bool {
    std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > Duration::from_secs(120))
}

/// A cluster of a test's own, stopped when dropped (whatever the test's outcome).
pub struct OwnCluster(pub Cluster);

impl OwnCluster {
    /// A new cluster in a fresh folder on a free port.
    pub fn start() -> Result<OwnCluster, String> {
        let cluster = OwnCluster::fresh()?;
        cluster.start()?;
        Ok(OwnCluster(cluster))
    }

    /// A new cluster that also takes TLS connections, with the certificate chain `cert_pem`
    /// and its key `key_pem` (PEM), as a bank's database on another host would.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> Result<OwnCluster, String> {
        // Dropped, hence stopped and its folder removed, if anything below fails.
        let mut own = OwnCluster(OwnCluster::fresh()?);
        let root = own.0.root.clone();
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let cert = root.join("server.crt");
        let key = root.join("server.key");
        std::fs::write(&cert, cert_pem).map_err(|e| format!("{}: {e}", cert.display()))?;
        write_owner_only(&key, key_pem)?;
        own.0.settings = vec![
            "ssl=on".into(),
            format!("ssl_cert_file={}", cert.display()),
            format!("ssl_key_file={}", key.display()),
        ];
        own.0.start()?;
        Ok(own)
    }

    /// A cluster in a fresh folder on a free port, not started.
    fn fresh() -> Result<Cluster, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())?;
        let root = std::env::temp_dir().join(format!("guichet-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Ok(Cluster::new(root, port))
    }
}

/// PostgreSQL refuses a key file that others than its owner may read.
fn write_owner_only(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.0.stop();
        let _ = std::fs::remove_dir_all(&self.0.root);
    }
}

//! The bank under measurement: `guichet serve` started as a child of the benchmark on free
//! loopback ports, its cold start timed, its resident memory sampled.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running `guichet serve`; killed when dropped.
pub struct BankServer {
    child: Child,
    /// Bank code → API base URL.
    pub apis: Vec<(String, String)>,
    /// From the spawn to the announcement of the listening banks and the written sandbox.json.
    pub cold_start: Duration,
}

impl Drop for BankServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BankServer {
    pub fn start(
        data_dir: &Path,
        database_url: Option<&str>,
        page_cache_mb: Option<u32>,
    ) -> anyhow::Result<BankServer> {
        let log = std::fs::File::create(data_dir.join("bench-server.log"))?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["serve", "--port", "0", "--psu-port", "0"])
            .args(["--ops-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        if let Some(mb) = page_cache_mb {
            let config = data_dir.join("bench.toml");
            std::fs::write(&config, format!("page_cache_mb = {mb}\n"))?;
            command.arg("--config").arg(config);
        }
        let started = Instant::now();
        let mut child = command.spawn().context("starting guichet serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut apis = Vec::new();
        let mut ready = false;
        for line in lines.by_ref() {
            let line = line?;
            // "  17515 Caisse d'Epargne …  API https://127.0.0.1:p/stet/psd2/v1.4.2  PSU pages …"
            if let Some(api) = line.split(" API ").nth(1) {
                let code = line.split_whitespace().next().unwrap_or_default();
                let base = api.split_whitespace().next().unwrap_or_default();
                apis.push((code.to_owned(), base.to_owned()));
            }
            if line.starts_with("Sandbox personas") {
                ready = true;
                break;
            }
        }
        let cold_start = started.elapsed();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let server = BankServer {
            child,
            apis,
            cold_start,
        };
        anyhow::ensure!(
            ready,
            "guichet serve stopped before it was ready; see {}",
            data_dir.join("bench-server.log").display()
        );
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn api(&self, bank: &str) -> anyhow::Result<String> {
        self.apis
            .iter()
            .find(|(code, _)| code == bank)
            .map(|(_, base)| base.clone())
            .with_context(|| format!("bank {bank} not served"))
    }
}

/// A process's resident memory, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples a process's resident memory every 100 ms until dropped; keeps the peak.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_kib(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        RssSampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The peak seen so far, in MB.
    pub fn peak_mb(&self) -> f64 {
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fresh folder for the benchmark's server, removed afterwards unless the user gave one.
pub struct DataDir {
    pub path: PathBuf,
    remove: bool,
}

impl DataDir {
    pub fn new(given: Option<PathBuf>) -> anyhow::Result<DataDir> {
        let (path, remove) = match given {
            Some(path) => (path, false),
            None => {
                let nanos = jiff::Timestamp::now().as_nanosecond();
                let path = std::env::temp_dir()
                    .join(format!("guichet-bench-{}-{nanos}", std::process::id()));
                (path, true)
            }
        };
        std::fs::create_dir_all(&path)?;
        Ok(DataDir { path, remove })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

//! A closed-loop load generator for `guichet bench`: `connections` clients, each with one
//! kept-alive mutual-TLS connection, replay one signed request back to back for a fixed time.
//! The request is signed once: a bank does not refuse a repeated `X-Request-ID`, and the
//! client's own RSA signing then does not cap the figures.

use std::time::{Duration, Instant};

use crate::TppIdentity;
use crate::identity::IdentityError;

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Latencies of the successful (2xx) answers, sorted.
    pub latencies: Vec<Duration>,
    /// Non-2xx answers and transport failures.
    pub errors: u64,
    pub elapsed: Duration,
    /// The body of the last successful answer, for comparison with another server's.
    pub last_body_len: usize,
}

impl LoadResult {
    pub fn answers(&self) -> usize {
        self.latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.latencies.len() as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency below which a fraction `q` (0 to 1) of the answers came.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let last = self.latencies.len() - 1;
        let index = ((self.latencies.len() as f64 * q) as usize).min(last);
        self.latencies[index]
    }

    pub fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }
}

/// Loads `url` with `request` (its URL replaced) from `connections` clients for `duration`.
pub async fn run(
    identity: &TppIdentity,
    ca_file: &std::path::Path,
    request: &reqwest::Request,
    url: &url::Url,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult, IdentityError> {
    let mut template = request
        .try_clone()
        .ok_or_else(|| IdentityError::Certificate("the request has a streaming body".into()))?;
    *template.url_mut() = url.clone();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let client = identity.http_client(ca_file)?;
        let Some(request) = template.try_clone() else {
            break;
        };
        tasks.spawn(one_connection(client, request, deadline));
    }
    let mut result = LoadResult::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(part) = done {
            result.latencies.extend(part.latencies);
            result.errors += part.errors;
            result.last_body_len = result.last_body_len.max(part.last_body_len);
        }
    }
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    Ok(result)
}

async fn one_connection(
    client: reqwest::Client,
    request: reqwest::Request,
    deadline: Instant,
) -> LoadResult {
    let mut part = LoadResult::default();
    while Instant::now() < deadline {
        let Some(next) = request.try_clone() else {
            break;
        };
        let start = Instant::now();
        match client.execute(next).await {
            Ok(response) if response.status().is_success() => match response.bytes().await {
                Ok(body) => {
                    part.latencies.push(start.elapsed());
                    part.last_body_len = body.len();
                }
                Err(_) => part.errors += 1,
            },
            _ => part.errors += 1,
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_read_the_sorted_latencies() {
        let result = LoadResult {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            errors: 0,
            elapsed: Duration::from_secs(2),
            last_body_len: 0,
        };
        assert_eq!(result.per_second(), 50.0);
        assert_eq!(result.quantile(0.5), Duration::from_millis(51));
        assert_eq!(result.quantile(0.99), Duration::from_millis(100));
        assert_eq!(result.max(), Duration::from_millis(100));
        assert_eq!(LoadResult::default().quantile(0.5), Duration::ZERO);
    }
}

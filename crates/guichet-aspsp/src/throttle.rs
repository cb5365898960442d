//! Slowing down guessing from one client address on the PSU's pages: at most
//! `psu_failures_per_client` failed factors (password or one-time code, whoever the PSU) per
//! `psu_failure_window_seconds` from one address; beyond, the pages answer 429 without
//! checking anything until the window ends. Per process: it slows a guesser down, while the
//! PSU's own block (RTS art. 4(3)(d)) lives in the database and is shared by every instance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures per client address in fixed windows.
#[derive(Debug)]
pub struct Throttle {
    limit: u32,
    window: i64,
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

/// Addresses kept at most; older windows are dropped first when it is reached.
const MAX_TRACKED: usize = 100_000;

impl Throttle {
    pub fn new(limit: u32, window_seconds: i64) -> Throttle {
        Throttle {
            limit: limit.max(1),
            window: window_seconds.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds the address must wait before it may try again, if it must.
    pub fn wait(&self, client: IpAddr, now: i64) -> Option<i64> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = *seen.get(&client)?;
        let end = start + self.window;
        (count >= self.limit && now < end).then_some(end - now)
    }

    /// Counts a failure from the address.
    pub fn failed(&self, client: IpAddr, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_TRACKED {
            let window = self.window;
            seen.retain(|_, (start, _)| *start + window > now);
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_its_failures_until_the_window_ends() {
        let throttle = Throttle::new(3, 60);
        let guesser: IpAddr = [127, 0, 0, 9].into();
        let other: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(throttle.wait(guesser, 1000), None);
            throttle.failed(guesser, 1000);
        }
        assert_eq!(throttle.wait(guesser, 1010), Some(50));
        assert_eq!(throttle.wait(other, 1010), None);
        assert_eq!(throttle.wait(guesser, 1060), None);
        throttle.failed(guesser, 1060);
        assert_eq!(throttle.wait(guesser, 1061), None);
    }
}

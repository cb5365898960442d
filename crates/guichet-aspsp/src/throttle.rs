//! Slowing down guessing from one client address (an IPv6 /64 counts as one) on the PSU's
//! pages: at most `psu_failures_per_client` failed factors (password or one-time code, whoever
//! the PSU) per `psu_failure_window_seconds` from one address; beyond, the pages answer 429
//! without checking anything until the window ends. Per process: it slows a guesser down, while the
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

    /// Counts a try from the address before its factor is checked (so that concurrent
    /// guesses are counted too), or answers the seconds it must wait.
    pub fn take(&self, client: IpAddr, now: i64) -> Result<(), i64> {
        let client = client_key(client);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.contains_key(&client) && seen.len() >= MAX_TRACKED {
            let window = self.window;
            seen.retain(|_, (start, _)| start.saturating_add(window) > now);
            if seen.len() >= MAX_TRACKED {
                // Too many addresses guessing at once: the new ones wait a window.
                return Err(self.window);
            }
        }
        let entry = seen.entry(client).or_insert((now, 0));
        let end = entry.0.saturating_add(self.window);
        if end <= now {
            *entry = (now, 0);
        } else if entry.1 >= self.limit {
            return Err(end - now);
        }
        entry.1 = entry.1.saturating_add(1);
        Ok(())
    }

    /// The factor was right: the try does not count against the address.
    pub fn refund(&self, client: IpAddr) {
        let client = client_key(client);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = seen.get_mut(&client) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

/// The key of a client address: an IPv6 address by its /64 (what one subscriber gets), an
/// IPv4-mapped one as IPv4.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
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
            assert_eq!(throttle.take(guesser, 1000), Ok(()));
        }
        assert_eq!(throttle.take(guesser, 1010), Err(50));
        assert_eq!(throttle.take(other, 1010), Ok(()));
        assert_eq!(throttle.take(guesser, 1060), Ok(()));
    }

    #[test]
    fn a_right_factor_is_refunded() {
        let throttle = Throttle::new(2, 60);
        let client: IpAddr = [127, 0, 0, 9].into();
        for _ in 0..5 {
            assert_eq!(throttle.take(client, 1000), Ok(()));
            throttle.refund(client);
        }
    }

    #[test]
    fn an_ipv6_subscriber_is_one_client() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        let b: IpAddr = "2001:db8:1:2:bbbb::7"
            .parse()
            .unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0; 16]));
        assert_eq!(client_key(mapped), IpAddr::from([192, 0, 2, 1]));
    }
}

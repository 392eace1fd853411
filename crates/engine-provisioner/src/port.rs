//! Port choice, stable across ensures: the first configured port that can
//! be bound on loopback; else the port this pool's replica was handed last
//! time (recorded in the cache dir) when it is still free; else one the OS
//! picks. The socket is closed again before returning: the supervisor
//! binds the port when it starts the engine, and another process can take
//! it in between (the supervisor then ensures again or picks another).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// The loopback address the engine listens on.
pub const HOST: &str = "127.0.0.1";

/// First free port of `wanted`, else `remembered` when free, else an
/// ephemeral one.
pub fn choose(wanted: &[u16], remembered: Option<u16>) -> std::io::Result<u16> {
    first_bindable(wanted, is_free)
        .or_else(|| remembered.filter(|&p| p != 0 && is_free(p)))
        .map_or_else(ephemeral, Ok)
}

/// True when `port` can be bound on loopback right now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Where the port handed to `replica_id` of `pool_id` is recorded (both
/// ids are validated names: no `/`, no leading `.`).
pub fn record_path(cache_dir: &Path, pool_id: &str, replica_id: &str) -> PathBuf {
    cache_dir.join("ports").join(pool_id).join(replica_id)
}

/// The recorded port, if any (an unreadable record is no record).
pub fn remembered(record: &Path) -> Option<u16> {
    std::fs::read_to_string(record).ok()?.trim().parse().ok()
}

/// Record `port` for the next ensure (temporary file, then rename). Only
/// a preference: a failure to record is ignored.
pub fn remember(record: &Path, port: u16) {
    let Some(dir) = record.parent() else {
        return;
    };
    let tmp = record.with_extension("tmp");
    let _ = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, port.to_string()))
        .and_then(|()| std::fs::rename(&tmp, record));
}

/// The first non-zero port in `wanted` that `binds` accepts.
fn first_bindable(wanted: &[u16], mut binds: impl FnMut(u16) -> bool) -> Option<u16> {
    wanted.iter().copied().find(|&p| p != 0 && binds(p))
}

fn ephemeral() -> std::io::Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()
        .map(|a| a.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_port_that_binds_wins_in_order() {
        let free = [9002, 9003];
        let binds = |p: u16| free.contains(&p);
        assert_eq!(first_bindable(&[9001, 9002, 9003], binds), Some(9002));
        assert_eq!(first_bindable(&[0, 9003], binds), Some(9003));
        assert_eq!(first_bindable(&[9001], binds), None);
        assert_eq!(first_bindable(&[], binds), None);
    }

    #[test]
    fn busy_ports_are_skipped_for_an_ephemeral_one() {
        // Every busy port stays bound for the whole test.
        let busy: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap())
            .collect();
        let busy_ports: Vec<u16> = busy
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        let chosen = choose(&busy_ports[..2], Some(busy_ports[2])).unwrap();
        assert_ne!(chosen, 0);
        assert!(!busy_ports.contains(&chosen), "{chosen} is busy");
    }

    #[test]
    fn a_record_round_trips_and_garbage_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let record = record_path(dir.path(), "p", "r0");
        assert_eq!(remembered(&record), None);
        remember(&record, 41234);
        assert_eq!(remembered(&record), Some(41234));
        std::fs::write(&record, "not a port").unwrap();
        assert_eq!(remembered(&record), None);
    }
}

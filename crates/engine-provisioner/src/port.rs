//! Port choice: the first configured port that can be bound on loopback,
//! else one the OS picks. The socket is closed again before returning, so
//! another process could take the port first; the orchestrator retries.

use std::net::{Ipv4Addr, TcpListener};

/// The loopback address the engine listens on.
pub const HOST: &str = "127.0.0.1";

/// First free port of `wanted`, else an ephemeral one.
pub fn choose(wanted: &[u16]) -> std::io::Result<u16> {
    first_bindable(wanted, |p| {
        TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()
    })
    .map_or_else(ephemeral, Ok)
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
        let chosen = choose(&busy_ports).unwrap();
        assert_ne!(chosen, 0);
        assert!(!busy_ports.contains(&chosen), "{chosen} is busy");
    }
}

//! Port choice: the first configured port that can be bound on loopback,
//! else one the OS picks. The socket is closed again before returning, so
//! another process could take the port first; the orchestrator retries.

use std::net::{Ipv4Addr, TcpListener};

/// The loopback address the engine listens on.
pub const HOST: &str = "127.0.0.1";

/// First free port of `wanted`, else an ephemeral one.
pub fn choose(wanted: &[u16]) -> std::io::Result<u16> {
    for &p in wanted {
        if p != 0 && TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok() {
            return Ok(p);
        }
    }
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_port_is_skipped() {
        let busy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        let free = {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        assert_eq!(choose(&[busy_port, free]).unwrap(), free);
        let eph = choose(&[busy_port]).unwrap();
        assert_ne!(eph, busy_port);
        assert_ne!(eph, 0);
    }
}

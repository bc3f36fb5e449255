//! Which TCP ports something listens on inside the container, read from /proc/net/tcp{,6}.
//! slim asks this (`slim-sensor listening`) to know an app is up even when the port speaks a
//! protocol it cannot probe, and before it runs exec probes against it.

use std::collections::BTreeSet;

/// The kernel's TCP state number for a listening socket.
const TCP_LISTEN: &str = "0A";

/// Listening ports in the text of /proc/net/tcp or /proc/net/tcp6.
pub fn parse_listening(table: &str) -> BTreeSet<u16> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state) = (fields.get(1)?, fields.get(3)?);
            if *state != TCP_LISTEN {
                return None;
            }
            let (_, port) = local.rsplit_once(':')?;
            u16::from_str_radix(port, 16).ok()
        })
        .collect()
}

/// Listening TCP ports of this network namespace (IPv4 and IPv6).
pub fn listening_ports() -> std::io::Result<BTreeSet<u16>> {
    let mut ports = parse_listening(&std::fs::read_to_string("/proc/net/tcp")?);
    // IPv6 may be disabled in the container; then the file is missing.
    if let Ok(table) = std::fs::read_to_string("/proc/net/tcp6") {
        ports.extend(parse_listening(&table));
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_listening_sockets_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n\
   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n\
   2: 0100007F:0050 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
        assert_eq!(parse_listening(table), [80, 6379].into());
        let v6 = "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        assert_eq!(parse_listening(v6), [8080].into());
        assert!(parse_listening("").is_empty());
    }

    #[test]
    fn reads_this_host() {
        assert!(listening_ports().is_ok());
    }
}

//! glibc Name Service Switch: which `libnss_*.so.2` modules a kept /etc/nsswitch.conf makes
//! libc dlopen at run time (nothing in any DT_NEEDED names them).

pub const NSSWITCH_CONF: &str = "/etc/nsswitch.conf";

/// File name of the module implementing `service`.
pub fn nss_module_name(service: &str) -> String {
    format!("libnss_{service}.so.2")
}

/// Services named on the database lines of an nsswitch.conf, first appearance first.
/// `[STATUS=action]` blocks are skipped.
pub fn nss_services(conf: &str) -> Vec<String> {
    let mut services: Vec<String> = Vec::new();
    for line in conf.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let Some((database, sources)) = line.split_once(':') else {
            continue;
        };
        if database.trim().is_empty() {
            continue;
        }
        let mut in_action = false;
        for word in sources.split_whitespace() {
            if word.starts_with('[') {
                in_action = true;
            }
            if in_action {
                in_action = !word.ends_with(']');
                continue;
            }
            let valid = word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
            if valid && !services.iter().any(|s| s == word) {
                services.push(word.to_string());
            }
        }
    }
    services
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_services_skipping_actions_and_comments() {
        let conf = "\
# /etc/nsswitch.conf
passwd:         files systemd
group:          files [SUCCESS=merge] systemd
hosts:          files mdns4_minimal [NOTFOUND=return success=continue] dns myhostname
networks:       files # dns
netgroup:       nis

";
        assert_eq!(
            nss_services(conf),
            vec![
                "files",
                "systemd",
                "mdns4_minimal",
                "dns",
                "myhostname",
                "nis"
            ]
        );
        assert_eq!(nss_module_name("dns"), "libnss_dns.so.2");
    }
}

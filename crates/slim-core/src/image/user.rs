//! USER values and the passwd/group databases they are resolved against.

use std::fmt;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("invalid user {0:?}: expected NAME or UID, optionally followed by :GROUP or :GID")]
    Malformed(String),
    #[error("user {0:?} is not in the image's /etc/passwd")]
    UnknownUser(String),
    #[error("group {0:?} is not in the image's /etc/group")]
    UnknownGroup(String),
}

/// A user as written in a Dockerfile USER line or `--user`: `name`, `1000`, `name:group`, `1000:1000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

impl UserSpec {
    pub fn parse(value: &str) -> Result<Self, UserError> {
        let (user, group) = match value.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (value, None),
        };
        let valid = |s: &str| {
            !s.is_empty() && !s.contains(|c: char| c.is_whitespace() || c == ':' || c == '/')
        };
        if !valid(user) || group.is_some_and(|g| !valid(g)) {
            return Err(UserError::Malformed(value.to_string()));
        }
        Ok(UserSpec {
            user: user.to_string(),
            group: group.map(str::to_string),
        })
    }

    /// Numeric IDs, looking names up in the given databases. A numeric user without a group
    /// takes the primary group from passwd when listed there, else the same number (as Docker does
    /// with gid 0; we prefer a non-root group for a non-root user).
    pub fn resolve(
        &self,
        passwd: &[PasswdEntry],
        groups: &[GroupEntry],
    ) -> Result<(u32, u32), UserError> {
        let entry = match self.user.parse::<u32>() {
            Ok(uid) => passwd
                .iter()
                .find(|e| e.uid == uid)
                .cloned()
                .map(Ok)
                .unwrap_or(Err(uid)),
            Err(_) => Ok(passwd
                .iter()
                .find(|e| e.name == self.user)
                .cloned()
                .ok_or_else(|| UserError::UnknownUser(self.user.clone()))?),
        };
        let uid = match &entry {
            Ok(e) => e.uid,
            Err(uid) => *uid,
        };
        let gid = match &self.group {
            Some(group) => match group.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => groups
                    .iter()
                    .find(|g| &g.name == group)
                    .map(|g| g.gid)
                    .ok_or_else(|| UserError::UnknownGroup(group.clone()))?,
            },
            None => match &entry {
                Ok(e) => e.gid,
                Err(uid) => *uid,
            },
        };
        Ok((uid, gid))
    }
}

impl fmt::Display for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{}:{g}", self.user),
            None => f.write_str(&self.user),
        }
    }
}

/// One line of /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// One line of /etc/group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    /// user names listed as members (the supplementary members of the group)
    pub members: Vec<String>,
}

/// Parse /etc/passwd, skipping lines that are not well-formed (comments, NIS `+` lines).
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// Parse /etc/group, skipping lines that are not well-formed.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n# comment\n+nis\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nstaff:x:50:\n";

    #[test]
    fn parses_specs() {
        assert_eq!(
            UserSpec::parse("www-data").unwrap(),
            UserSpec {
                user: "www-data".into(),
                group: None
            }
        );
        assert_eq!(
            UserSpec::parse("1000:50").unwrap().group.as_deref(),
            Some("50")
        );
        for bad in ["", ":", "a:", ":b", "a b", "a:b:c"] {
            assert!(UserSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_names_and_numbers() {
        let (p, g) = (parse_passwd(PASSWD), parse_group(GROUP));
        assert_eq!(p.len(), 2);
        assert_eq!(
            UserSpec::parse("www-data").unwrap().resolve(&p, &g),
            Ok((33, 33))
        );
        assert_eq!(
            UserSpec::parse("www-data:staff").unwrap().resolve(&p, &g),
            Ok((33, 50))
        );
        assert_eq!(
            UserSpec::parse("1234").unwrap().resolve(&p, &g),
            Ok((1234, 1234))
        );
        assert_eq!(UserSpec::parse("0").unwrap().resolve(&p, &g), Ok((0, 0)));
        assert_eq!(
            UserSpec::parse("nobody").unwrap().resolve(&p, &g),
            Err(UserError::UnknownUser("nobody".into()))
        );
        assert_eq!(
            UserSpec::parse("33:wheel").unwrap().resolve(&p, &g),
            Err(UserError::UnknownGroup("wheel".into()))
        );
    }
}

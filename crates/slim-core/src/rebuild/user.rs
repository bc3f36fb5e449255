//! Choosing the non-root user the slim image runs as, and the passwd/group lines it needs.

use serde::{Deserialize, Serialize};

use crate::image::user::{GroupEntry, PasswdEntry, parse_group, parse_passwd};
use crate::image::{UserError, UserSpec};

/// The uid/gid distroless images use for their `nonroot` user.
pub const NONROOT_ID: u32 = 65532;
/// The uid of `nobody`, never chosen as the user a server switched to.
const NOBODY_ID: u32 = 65534;

/// Where the final user came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserSource {
    /// the image already ran as this non-root user
    Image,
    /// chosen with --user
    Flag,
    /// the image ran as root; slim added `nonroot`
    Added,
    /// the image started as root and switched to this user itself during analysis
    /// (apache's `User`, nginx's worker `user`, gosu): the slim image starts as it
    Switched,
}

/// The user of the slim image and what must change in the image to support it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPlan {
    pub uid: u32,
    pub gid: u32,
    pub name: Option<String>,
    pub source: UserSource,
    /// new /etc/passwd contents, when a line had to be added (or the file created)
    pub passwd: Option<String>,
    /// new /etc/group contents, when a line had to be added (or the file created)
    pub group: Option<String>,
    /// home directory to create (or make the user's) for an added user
    pub home: Option<String>,
    /// the primary group is the one /etc/passwd gives the user, so the image's USER names
    /// the uid alone and the runtime adds the supplementary groups of /etc/group (with
    /// `USER uid:gid` Docker gives no supplementary groups at all)
    #[serde(default)]
    pub gid_from_passwd: bool,
    /// the supplementary groups the runtime gives the user (groups listing its name)
    #[serde(default)]
    pub groups: Vec<u32>,
}

impl UserPlan {
    /// `UID:GID`, numeric, as written into the image config (numeric so that Kubernetes'
    /// runAsNonRoot can check it without reading /etc/passwd).
    pub fn config_user(&self) -> String {
        if self.gid_from_passwd {
            self.uid.to_string()
        } else {
            format!("{}:{}", self.uid, self.gid)
        }
    }

    /// The credentials a process of the slim image runs with.
    pub fn credentials(&self) -> crate::rebuild::access::Credentials {
        crate::rebuild::access::Credentials {
            uid: u64::from(self.uid),
            gid: u64::from(self.gid),
            groups: self.groups.iter().map(|g| u64::from(*g)).collect(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Decide the user: `--user` if given, else the image's own non-root USER, else the user a
/// root process switched to during analysis (`switched_to`, if /etc/passwd has it), else
/// `nonroot`. `passwd`/`group` are the image's files if it has them.
pub fn plan_user(
    image_user: &str,
    flag: Option<&UserSpec>,
    passwd: Option<&str>,
    group: Option<&str>,
    switched_to: Option<u32>,
) -> Result<UserPlan, UserError> {
    let users = passwd.map(parse_passwd).unwrap_or_default();
    let groups = group.map(parse_group).unwrap_or_default();
    if let Some(spec) = flag {
        let (uid, gid) = spec.resolve(&users, &groups)?;
        return Ok(with_entries(
            uid,
            gid,
            UserSource::Flag,
            passwd,
            group,
            &users,
            &groups,
        ));
    }
    if !image_user.is_empty() {
        let (uid, gid) = UserSpec::parse(image_user)?.resolve(&users, &groups)?;
        if uid != 0 {
            return Ok(with_entries(
                uid,
                gid,
                UserSource::Image,
                passwd,
                group,
                &users,
                &groups,
            ));
        }
    }
    // `nobody` owns nothing by design; files made writable for it would be shared with every
    // other program that runs as nobody
    let switched = switched_to
        .and_then(|uid| users.iter().find(|u| u.uid == uid))
        .filter(|u| u.name != "nobody" && u.uid != NOBODY_ID);
    if let Some(entry) = switched {
        return Ok(with_entries(
            entry.uid,
            entry.gid,
            UserSource::Switched,
            passwd,
            group,
            &users,
            &groups,
        ));
    }
    Ok(with_entries(
        NONROOT_ID,
        NONROOT_ID,
        UserSource::Added,
        passwd,
        group,
        &users,
        &groups,
    ))
}

/// Make sure uid and gid have passwd/group lines (tools like `id`, `whoami`, Python's getpass
/// fail without one), adding them where missing.
fn with_entries(
    uid: u32,
    gid: u32,
    source: UserSource,
    passwd: Option<&str>,
    group: Option<&str>,
    users: &[PasswdEntry],
    groups: &[GroupEntry],
) -> UserPlan {
    let existing = users.iter().find(|u| u.uid == uid);
    let name = existing
        .map(|u| u.name.clone())
        .unwrap_or_else(|| free_name(uid, |n| users.iter().any(|u| u.name == n)));
    let mut plan = UserPlan {
        uid,
        gid,
        name: Some(name.clone()),
        source,
        passwd: None,
        group: None,
        home: None,
        gid_from_passwd: existing.is_none_or(|u| u.gid == gid),
        groups: Vec::new(),
    };
    if plan.gid_from_passwd {
        plan.groups = groups
            .iter()
            .filter(|g| g.gid != gid && g.members.contains(&name))
            .map(|g| g.gid)
            .collect();
    }
    if uid == 0 {
        return plan;
    }
    if existing.is_none() {
        let home = format!("/home/{name}");
        let mut text = passwd
            .map(str::to_string)
            .unwrap_or_else(|| "root:x:0:0:root:/root:/sbin/nologin\n".to_string());
        ensure_newline(&mut text);
        text.push_str(&format!(
            "{name}:x:{uid}:{gid}:{name}:{home}:/sbin/nologin\n"
        ));
        plan.passwd = Some(text);
        plan.home = Some(home);
    }
    if !groups.iter().any(|g| g.gid == gid) {
        let group_name = if groups.iter().any(|g| g.name == name) {
            format!("{name}-{gid}")
        } else {
            name.clone()
        };
        let mut text = group
            .map(str::to_string)
            .unwrap_or_else(|| "root:x:0:\n".to_string());
        ensure_newline(&mut text);
        text.push_str(&format!("{group_name}:x:{gid}:\n"));
        plan.group = Some(text);
    }
    plan
}

/// `nonroot`, unless another uid already has that name.
fn free_name(uid: u32, taken: impl Fn(&str) -> bool) -> String {
    if !taken("nonroot") {
        "nonroot".to_string()
    } else {
        format!("nonroot-{uid}")
    }
}

fn ensure_newline(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\n";

    #[test]
    fn root_image_gets_nonroot() {
        let plan = plan_user("", None, Some(PASSWD), Some(GROUP), None).unwrap();
        assert_eq!(
            (plan.uid, plan.gid, plan.source),
            (NONROOT_ID, NONROOT_ID, UserSource::Added)
        );
        assert_eq!(plan.config_user(), "65532");
        let passwd = plan.passwd.unwrap();
        assert!(passwd.starts_with(PASSWD));
        assert!(passwd.ends_with(
            "/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
        ));
        assert!(
            plan.group
                .unwrap()
                .ends_with("www-data:x:33:\nnonroot:x:65532:\n")
        );
        assert_eq!(plan.home.as_deref(), Some("/home/nonroot"));
        assert_eq!(
            plan_user("root", None, Some(PASSWD), Some(GROUP), None)
                .unwrap()
                .source,
            UserSource::Added
        );
        assert_eq!(
            plan_user("0:0", None, Some(PASSWD), Some(GROUP), None)
                .unwrap()
                .source,
            UserSource::Added
        );
    }

    #[test]
    fn supplementary_groups_come_with_a_uid_only_user() {
        let group = "root:x:0:\nssl-cert:x:109:postgres\npostgres:x:110:\n";
        let passwd = "postgres:x:105:110::/var/lib/postgresql:/bin/bash\n";
        let plan = plan_user("postgres", None, Some(passwd), Some(group), None).unwrap();
        assert_eq!(plan.config_user(), "105");
        assert_eq!(plan.groups, [109]);
        // another primary group than passwd's: Docker gives no supplementary groups then
        let spec = UserSpec::parse("postgres:0").unwrap();
        let plan = plan_user("", Some(&spec), Some(passwd), Some(group), None).unwrap();
        assert_eq!(plan.config_user(), "105:0");
        assert!(plan.groups.is_empty());
    }

    #[test]
    fn a_server_that_switched_users_starts_as_that_user() {
        let plan = plan_user("", None, Some(PASSWD), Some(GROUP), Some(33)).unwrap();
        assert_eq!(
            (plan.uid, plan.gid, plan.source),
            (33, 33, UserSource::Switched)
        );
        assert_eq!((plan.passwd, plan.group), (None, None));
        // not in /etc/passwd, or nobody: the added user instead
        let plan = plan_user("", None, Some(PASSWD), Some(GROUP), Some(4242)).unwrap();
        assert_eq!(plan.source, UserSource::Added);
        let passwd = format!("{PASSWD}\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n");
        let plan = plan_user("", None, Some(&passwd), Some(GROUP), Some(65534)).unwrap();
        assert_eq!(plan.source, UserSource::Added);
        // the image's own non-root USER still wins
        let plan = plan_user("www-data", None, Some(PASSWD), Some(GROUP), Some(4242)).unwrap();
        assert_eq!(plan.source, UserSource::Image);
    }

    #[test]
    fn image_without_passwd_gets_one() {
        let plan = plan_user("", None, None, None, None).unwrap();
        assert_eq!(
            plan.passwd.unwrap(),
            "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
        );
        assert_eq!(plan.group.unwrap(), "root:x:0:\nnonroot:x:65532:\n");
    }

    #[test]
    fn non_root_image_user_is_kept() {
        let plan = plan_user("www-data", None, Some(PASSWD), Some(GROUP), None).unwrap();
        assert_eq!(
            (plan.uid, plan.gid, plan.source),
            (33, 33, UserSource::Image)
        );
        assert_eq!((plan.passwd, plan.group, plan.home), (None, None, None));
    }

    #[test]
    fn flag_user_is_honoured_and_added() {
        let spec = UserSpec::parse("1234").unwrap();
        let plan = plan_user("www-data", Some(&spec), Some(PASSWD), Some(GROUP), None).unwrap();
        assert_eq!(
            (plan.uid, plan.gid, plan.source),
            (1234, 1234, UserSource::Flag)
        );
        assert!(plan.passwd.unwrap().contains("nonroot:x:1234:1234:"));
        let spec = UserSpec::parse("www-data:33").unwrap();
        let plan = plan_user("", Some(&spec), Some(PASSWD), Some(GROUP), None).unwrap();
        assert_eq!((plan.uid, plan.gid, plan.passwd), (33, 33, None));
        let spec = UserSpec::parse("ghost").unwrap();
        assert!(plan_user("", Some(&spec), Some(PASSWD), Some(GROUP), None).is_err());
    }

    #[test]
    fn existing_nonroot_name_is_not_reused_for_another_uid() {
        let passwd = "nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n";
        let spec = UserSpec::parse("2000").unwrap();
        let plan = plan_user(
            "",
            Some(&spec),
            Some(passwd),
            Some("nonroot:x:65532:\n"),
            None,
        )
        .unwrap();
        assert!(plan.passwd.unwrap().contains("nonroot-2000:x:2000:2000:"));
        let plan = plan_user("", None, Some(passwd), Some("nonroot:x:65532:\n"), None).unwrap();
        assert_eq!(
            (plan.uid, plan.passwd, plan.group),
            (NONROOT_ID, None, None)
        );
    }
}

//! Dropping root: once the interfaces and the output files are open, the sensor has no more
//! need for it (tcpdump's `-Z`). Supplementary groups, then the group, then the user are
//! set, in that order, before any worker thread starts; a process that can still become
//! root again afterwards is an error, not a warning.

use anyhow::{bail, Context};
use nix::unistd::{getuid, setgid, setgroups, setuid, Gid, Group, Uid, User};

/// Switches to `user` (and `group`, or the user's primary group). Nothing to do when
/// neither is given.
pub fn drop_to(user: Option<&str>, group: Option<&str>) -> anyhow::Result<()> {
    if user.is_none() && group.is_none() {
        return Ok(());
    }
    let account = match user {
        Some(name) => Some(
            User::from_name(name)
                .with_context(|| format!("looking up user {name}"))?
                .with_context(|| format!("no user named {name}"))?,
        ),
        None => None,
    };
    let gid = match (group, &account) {
        (Some(name), _) => {
            Group::from_name(name)
                .with_context(|| format!("looking up group {name}"))?
                .with_context(|| format!("no group named {name}"))?
                .gid
        }
        (None, Some(u)) => u.gid,
        (None, None) => Gid::current(),
    };
    setgroups(&[gid]).context("setgroups (dropping privileges needs root)")?;
    setgid(gid).context("setgid")?;
    if let Some(u) = &account {
        setuid(u.uid).context("setuid")?;
        if !getuid().is_root() && setuid(Uid::from_raw(0)).is_ok() {
            bail!("still able to become root after switching to {}", u.name);
        }
    }
    Ok(())
}

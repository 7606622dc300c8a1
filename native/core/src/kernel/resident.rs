//! What a resident worker thread (crate::agent::workers) keeps between calls in its host network
//! namespace: the namespace itself, its NETLINK_ROUTE socket, the bridges it has seen and the
//! /proc/sys/net directories, so that sequential calls pay no setns into the host and no socket
//! open. The calls that use the cache validate it (see bridge.rs).

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use super::link::Link;
use super::netns;
use super::rtnl::Rtnl;
use super::sysctl;
use crate::error::Result;

/// A worker's kernel state in its host namespace.
pub struct Resident {
    host_ns: OwnedFd,
    host: Option<Rtnl>,
    /// bridges by name as last seen (index, MAC, flags); validated by the calls that use them
    pub(crate) bridges: HashMap<String, Link>,
    /// /proc/sys/net directories of the host namespace (open and use only while in it)
    pub(crate) sysctl: sysctl::Dirs,
    /// the thread left the host namespace during the current job
    moved: bool,
}

impl Resident {
    /// The state of a worker that has just entered `host_ns`.
    pub(crate) fn new(host_ns: OwnedFd) -> Resident {
        Resident { host_ns, host: None, bridges: HashMap::new(), sysctl: Default::default(), moved: false }
    }

    /// Take the host socket out for a job (opened on first use); give it back with
    /// [`Resident::put_host`] unless it failed.
    pub(crate) fn take_host(&mut self) -> Result<Rtnl> {
        match self.host.take() {
            Some(h) => Ok(h),
            None => Rtnl::open(),
        }
    }

    pub(crate) fn put_host(&mut self, h: Rtnl) {
        self.host = Some(h);
    }

    /// Move this thread into another namespace for the rest of the job (the worker returns to the
    /// host namespace before it parks again; see also [`Resident::back`]).
    pub(crate) fn enter(&mut self, fd: &OwnedFd, path: &str) -> Result<()> {
        self.moved = true;
        netns::enter(fd, path)
    }

    /// The job is about to move this thread itself (with [`netns::enter`]); return it afterwards.
    pub(crate) fn mark_moved(&mut self) {
        self.moved = true;
    }

    /// Back into the host namespace.
    pub fn back(&mut self) -> Result<()> {
        if self.moved {
            netns::enter(&self.host_ns, "host")?;
            self.moved = false;
        }
        Ok(())
    }
}

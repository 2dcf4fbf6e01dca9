//! A listing of every entry in an exported filesystem, and the differences between two.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

use sha2::{Digest, Sha256};
use tar::EntryType;

/// One filesystem entry as far as parity goes. The modification time is left out on
/// purpose: RUN stamps the files it creates, and the directories it touches, with the time
/// the step ran, so two builds of the same Dockerfile differ there (and so would a
/// stock build and its own rebuild with `--no-cache`). BuildKit v0.13 rewrites no
/// timestamps unless SOURCE_DATE_EPOCH is set, which these builds do not set. Access and
/// change times in PAX headers are left out for the same reason. The user and group
/// names of a tar header are not read: an image stores numeric ids (kept here), and
/// `docker export` leaves the names empty (checked on the harness daemon).
/// Everything else a tar header says about the entry is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    /// Hex sha256 of a regular file's content.
    pub sha256: Option<String>,
    /// A symlink's target, or the path a hard link points at.
    pub link_target: Option<String>,
    /// Major and minor number of a device node.
    pub device: Option<(u32, u32)>,
    /// Extended attributes from PAX headers (`SCHILY.xattr.*`), values hex encoded.
    pub xattrs: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl Kind {
    fn from_tar(entry_type: EntryType) -> io::Result<Kind> {
        Ok(match entry_type {
            EntryType::Regular | EntryType::Continuous => Kind::File,
            EntryType::Directory => Kind::Dir,
            EntryType::Symlink => Kind::Symlink,
            EntryType::Link => Kind::Hardlink,
            EntryType::Char => Kind::CharDevice,
            EntryType::Block => Kind::BlockDevice,
            EntryType::Fifo => Kind::Fifo,
            other => {
                return Err(io::Error::other(format!(
                    "unexpected tar entry type {other:?}"
                )));
            }
        })
    }
}

/// Entries by absolute path (`/etc/passwd`, `/bin`), sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub entries: BTreeMap<String, Entry>,
}

/// Reads a tar stream (`docker export`) into a listing.
pub fn read_listing(reader: impl Read) -> io::Result<Listing> {
    let mut archive = tar::Archive::new(reader);
    let mut listing = Listing::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = absolute(&entry.path()?.to_string_lossy());
        let header = entry.header();
        let kind = Kind::from_tar(header.entry_type())?;
        let mode = header.mode()? & 0o7777;
        let uid = header.uid()?;
        let gid = header.gid()?;
        let size = header.size()?;
        let link_target = match kind {
            Kind::Symlink => entry
                .link_name()?
                .map(|target| target.to_string_lossy().into_owned()),
            // Hard links name another entry of the archive: make it absolute like the paths.
            Kind::Hardlink => entry
                .link_name()?
                .map(|target| absolute(&target.to_string_lossy())),
            _ => None,
        };
        let device = match kind {
            Kind::CharDevice | Kind::BlockDevice => Some((
                header.device_major()?.unwrap_or(0),
                header.device_minor()?.unwrap_or(0),
            )),
            _ => None,
        };
        let mut xattrs = BTreeMap::new();
        if let Some(extensions) = entry.pax_extensions()? {
            for extension in extensions {
                let extension = extension?;
                if let Ok(key) = extension.key()
                    && let Some(name) = key.strip_prefix("SCHILY.xattr.")
                {
                    xattrs.insert(name.to_string(), hex::encode(extension.value_bytes()));
                }
            }
        }
        let sha256 = if kind == Kind::File {
            let mut hasher = Sha256::new();
            let mut buffer = [0u8; 64 * 1024];
            loop {
                let read = entry.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            Some(hex::encode(hasher.finalize()))
        } else {
            None
        };
        listing.entries.insert(
            path,
            Entry {
                kind,
                mode,
                uid,
                gid,
                size,
                sha256,
                link_target,
                device,
                xattrs,
            },
        );
    }
    Ok(listing)
}

/// `bin/`, `./bin`, `bin` → `/bin`.
fn absolute(tar_path: &str) -> String {
    let trimmed = tar_path.trim_start_matches("./").trim_matches('/');
    format!("/{trimmed}")
}

/// What differs at one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryDifference {
    OnlyInStock {
        path: String,
    },
    OnlyUnderTest {
        path: String,
    },
    Field {
        path: String,
        field: &'static str,
        stock: String,
        under_test: String,
    },
}

impl fmt::Display for EntryDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryDifference::OnlyInStock { path } => write!(f, "{path}: only in the stock image"),
            EntryDifference::OnlyUnderTest { path } => {
                write!(f, "{path}: only in the image under test")
            }
            EntryDifference::Field {
                path,
                field,
                stock,
                under_test,
            } => write!(f, "{path}: {field} stock {stock} ≠ under test {under_test}"),
        }
    }
}

/// Every difference, path by path in sorted order, field by field within a path.
pub fn diff_listings(stock: &Listing, under_test: &Listing) -> Vec<EntryDifference> {
    let mut differences = Vec::new();
    for (path, stock_entry) in &stock.entries {
        match under_test.entries.get(path) {
            None => differences.push(EntryDifference::OnlyInStock { path: path.clone() }),
            Some(test_entry) => diff_entries(path, stock_entry, test_entry, &mut differences),
        }
    }
    for path in under_test.entries.keys() {
        if !stock.entries.contains_key(path) {
            differences.push(EntryDifference::OnlyUnderTest { path: path.clone() });
        }
    }
    differences.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    differences
}

fn path_of(difference: &EntryDifference) -> &str {
    match difference {
        EntryDifference::OnlyInStock { path }
        | EntryDifference::OnlyUnderTest { path }
        | EntryDifference::Field { path, .. } => path,
    }
}

fn diff_entries(path: &str, stock: &Entry, under_test: &Entry, out: &mut Vec<EntryDifference>) {
    let mut field = |name: &'static str, stock: String, under_test: String| {
        if stock != under_test {
            out.push(EntryDifference::Field {
                path: path.to_string(),
                field: name,
                stock,
                under_test,
            });
        }
    };
    field(
        "type",
        format!("{:?}", stock.kind),
        format!("{:?}", under_test.kind),
    );
    field(
        "mode",
        format!("{:04o}", stock.mode),
        format!("{:04o}", under_test.mode),
    );
    field("uid", stock.uid.to_string(), under_test.uid.to_string());
    field("gid", stock.gid.to_string(), under_test.gid.to_string());
    field("size", stock.size.to_string(), under_test.size.to_string());
    field(
        "sha256",
        optional(&stock.sha256),
        optional(&under_test.sha256),
    );
    field(
        "link target",
        optional(&stock.link_target),
        optional(&under_test.link_target),
    );
    field(
        "device",
        format!("{:?}", stock.device),
        format!("{:?}", under_test.device),
    );
    field(
        "xattrs",
        format!("{:?}", stock.xattrs),
        format!("{:?}", under_test.xattrs),
    );
}

fn optional(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "(none)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &[u8]) -> Entry {
        Entry {
            kind: Kind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: content.len() as u64,
            sha256: Some(hex::encode(Sha256::digest(content))),
            link_target: None,
            device: None,
            xattrs: BTreeMap::new(),
        }
    }

    fn listing(entries: &[(&str, Entry)]) -> Listing {
        Listing {
            entries: entries
                .iter()
                .map(|(path, entry)| (path.to_string(), entry.clone()))
                .collect(),
        }
    }

    fn fields(differences: &[EntryDifference]) -> Vec<(&str, &str)> {
        differences
            .iter()
            .map(|difference| match difference {
                EntryDifference::Field { path, field, .. } => (path.as_str(), *field),
                other => panic!("expected a field difference, got {other}"),
            })
            .collect()
    }

    #[test]
    fn each_changed_field_is_reported_alone_by_name() {
        let base = file(b"content");
        let stock = listing(&[("/a", base.clone()), ("/b", file(b"other"))]);
        type Change = fn(&mut Entry);
        let changes: [(&str, Change); 9] = [
            ("type", |e| e.kind = Kind::Fifo),
            ("mode", |e| e.mode = 0o600),
            ("uid", |e| e.uid = 1000),
            ("gid", |e| e.gid = 1000),
            ("size", |e| e.size = 99),
            ("sha256", |e| e.sha256 = Some("00".into())),
            ("link target", |e| e.link_target = Some("/elsewhere".into())),
            ("device", |e| e.device = Some((1, 3))),
            ("xattrs", |e| {
                e.xattrs.insert("user.x".into(), "01".into());
            }),
        ];
        for (name, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            let under_test = listing(&[("/a", changed), ("/b", file(b"other"))]);
            let differences = diff_listings(&stock, &under_test);
            assert_eq!(fields(&differences), vec![("/a", name)], "changing {name}");
        }
    }

    #[test]
    fn a_missing_and_an_extra_path_are_reported_as_such() {
        let stock = listing(&[("/same", file(b"x")), ("/gone", file(b"y"))]);
        let under_test = listing(&[("/same", file(b"x")), ("/new", file(b"y"))]);
        assert_eq!(
            diff_listings(&stock, &under_test),
            vec![
                EntryDifference::OnlyInStock {
                    path: "/gone".into()
                },
                EntryDifference::OnlyUnderTest {
                    path: "/new".into()
                },
            ]
        );
    }

    #[test]
    fn equal_listings_have_no_differences() {
        let stock = listing(&[("/a", file(b"x"))]);
        assert_eq!(diff_listings(&stock, &stock.clone()), vec![]);
    }

    /// A GNU header with every numeric field set (an unset one is not a number).
    fn header(entry_type: EntryType, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry_type);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(0);
        header
    }

    #[test]
    fn a_tar_stream_is_read_with_types_modes_owners_hashes_and_links() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dir = header(EntryType::Directory, 0o750);
        builder.append_data(&mut dir, "etc/", io::empty()).unwrap();
        let mut regular = header(EntryType::Regular, 0o600);
        regular.set_uid(1000);
        regular.set_gid(2000);
        regular.set_size(5);
        builder
            .append_data(&mut regular, "etc/key", &b"hello"[..])
            .unwrap();
        let mut symlink = header(EntryType::Symlink, 0o777);
        builder
            .append_link(&mut symlink, "etc/link", "key")
            .unwrap();
        let mut hardlink = header(EntryType::Link, 0o600);
        builder
            .append_link(&mut hardlink, "etc/hard", "etc/key")
            .unwrap();
        let bytes = builder.into_inner().unwrap();

        let listing = read_listing(&bytes[..]).unwrap();
        let paths: Vec<&str> = listing.entries.keys().map(String::as_str).collect();
        assert_eq!(paths, ["/etc", "/etc/hard", "/etc/key", "/etc/link"]);
        assert_eq!(listing.entries["/etc"].kind, Kind::Dir);
        assert_eq!(listing.entries["/etc"].mode, 0o750);
        let key = &listing.entries["/etc/key"];
        assert_eq!(
            (key.kind, key.mode, key.uid, key.gid, key.size),
            (Kind::File, 0o600, 1000, 2000, 5)
        );
        assert_eq!(
            key.sha256.as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(
            listing.entries["/etc/link"].link_target.as_deref(),
            Some("key")
        );
        assert_eq!(listing.entries["/etc/hard"].kind, Kind::Hardlink);
        assert_eq!(
            listing.entries["/etc/hard"].link_target.as_deref(),
            Some("/etc/key")
        );
    }
}

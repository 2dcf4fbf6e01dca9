//! Filtering a tree that is not on this disk (an image's layers) as [`super::walk`]
//! filters a directory.

use std::path::Path;

use super::ContextError;
use super::ignore::MatchInfo;
use super::walk::{CompiledFilter, Entry, EntryKind, Filter, Parent, Verdict, is_below};

/// What [`walk`](super::walk) would yield from a tree that is not on this disk (an image's
/// layers), given all of that tree's `entries` in walk order: depth first, each
/// directory's entries sorted byte-wise, a directory right before its contents.
/// The same patterns decide; `filter.follow_paths` must be empty (there is no disk
/// to resolve them on).
pub fn filter_walked(entries: &[Entry], filter: &Filter) -> Result<Vec<Entry>, ContextError> {
    if !filter.follow_paths.is_empty() {
        return Err(ContextError::BadPattern {
            pattern: filter.follow_paths.join(","),
            reason: "follow paths need a tree on disk",
        });
    }
    let filter = CompiledFilter::new(Path::new("/"), filter)?;
    let no_parent = MatchInfo::default();
    let mut out = Vec::new();
    let mut parents: Vec<Parent> = Vec::new();
    let mut pruned: Option<String> = None;
    for entry in entries {
        if let Some(dir) = &pruned {
            if is_below(&entry.path, dir) {
                continue;
            }
            pruned = None;
        }
        while parents
            .last()
            .is_some_and(|parent| !is_below(&entry.path, &parent.entry.path))
        {
            parents.pop();
        }
        let is_dir = entry.kind == EntryKind::Dir;
        let parent = parents.last();
        let (verdict, include_info, exclude_info) = filter.judge(
            parent.map_or(&no_parent, |parent| &parent.include_info),
            parent.map_or(&no_parent, |parent| &parent.exclude_info),
            &entry.path,
            is_dir,
        )?;
        let yielded = match verdict {
            Verdict::Prune => {
                if is_dir {
                    pruned = Some(entry.path.clone());
                }
                continue;
            }
            Verdict::Hide => false,
            Verdict::Take => {
                for parent in &mut parents {
                    if !parent.yielded {
                        out.push(parent.entry.clone());
                        parent.yielded = true;
                    }
                }
                out.push(entry.clone());
                true
            }
        };
        if is_dir {
            parents.push(Parent {
                entry: entry.clone(),
                yielded,
                include_info,
                exclude_info,
            });
        }
    }
    Ok(out)
}

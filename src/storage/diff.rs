//! Which signature inputs differ between a stored stage image and today's build: the
//! answer to "why did it rebuild". Inputs are matched by name (`from`, `arg NAME`,
//! `step N RUN`, `context N`, …); a context input's files by path.

use std::collections::BTreeMap;

use super::labels::{StoredFile, StoredInput};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputChange {
    /// An input today's build has and the stored image did not.
    Added { name: String, digest: String },
    /// An input the stored image had and today's build does not.
    Removed { name: String, digest: String },
    Changed {
        name: String,
        old: String,
        new: String,
        /// For a context input whose files both sides list: the files that differ.
        files: Vec<FileChange>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    Added {
        path: String,
        digest: String,
    },
    Removed {
        path: String,
        digest: String,
    },
    Changed {
        path: String,
        old: String,
        new: String,
    },
}

/// The changes from `stored` to `today`, in today's order (removed inputs last).
pub fn diff_inputs(stored: &[StoredInput], today: &[StoredInput]) -> Vec<InputChange> {
    let old: BTreeMap<&str, &StoredInput> = stored.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut changes = Vec::new();
    for input in today {
        match old.get(input.name.as_str()) {
            None => changes.push(InputChange::Added {
                name: input.name.clone(),
                digest: input.digest.clone(),
            }),
            Some(before) if before.digest != input.digest => {
                let files = if before.files.is_empty() || input.files.is_empty() {
                    Vec::new()
                } else {
                    diff_files(&before.files, &input.files)
                };
                changes.push(InputChange::Changed {
                    name: input.name.clone(),
                    old: before.digest.clone(),
                    new: input.digest.clone(),
                    files,
                });
            }
            Some(_) => {}
        }
    }
    let today_names: std::collections::BTreeSet<&str> =
        today.iter().map(|i| i.name.as_str()).collect();
    for input in stored {
        if !today_names.contains(input.name.as_str()) {
            changes.push(InputChange::Removed {
                name: input.name.clone(),
                digest: input.digest.clone(),
            });
        }
    }
    changes
}

/// Files added, removed or changed, by path order.
pub fn diff_files(stored: &[StoredFile], today: &[StoredFile]) -> Vec<FileChange> {
    let old: BTreeMap<&str, &str> = stored
        .iter()
        .map(|f| (f.path.as_str(), f.digest.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = today
        .iter()
        .map(|f| (f.path.as_str(), f.digest.as_str()))
        .collect();
    let mut paths: Vec<&str> = old.keys().chain(new.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| match (old.get(path), new.get(path)) {
            (Some(a), Some(b)) if a != b => Some(FileChange::Changed {
                path: path.into(),
                old: a.to_string(),
                new: b.to_string(),
            }),
            (None, Some(b)) => Some(FileChange::Added {
                path: path.into(),
                digest: b.to_string(),
            }),
            (Some(a), None) => Some(FileChange::Removed {
                path: path.into(),
                digest: a.to_string(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, digest: &str) -> StoredInput {
        StoredInput {
            name: name.into(),
            digest: digest.into(),
            files: Vec::new(),
        }
    }

    fn with_files(name: &str, digest: &str, files: &[(&str, &str)]) -> StoredInput {
        StoredInput {
            files: files
                .iter()
                .map(|(path, digest)| StoredFile {
                    path: path.to_string(),
                    digest: digest.to_string(),
                })
                .collect(),
            ..input(name, digest)
        }
    }

    #[test]
    fn equal_inputs_have_no_changes() {
        let inputs = [input("from", "a"), input("step 0 RUN", "b")];
        assert_eq!(diff_inputs(&inputs, &inputs), []);
    }

    #[test]
    fn changed_added_and_removed_inputs() {
        let stored = [
            input("from", "a"),
            input("arg V", "1"),
            input("step 0 RUN", "r"),
        ];
        let today = [
            input("from", "a2"),
            input("step 0 RUN", "r"),
            input("arg W", "2"),
        ];
        assert_eq!(
            diff_inputs(&stored, &today),
            [
                InputChange::Changed {
                    name: "from".into(),
                    old: "a".into(),
                    new: "a2".into(),
                    files: vec![]
                },
                InputChange::Added {
                    name: "arg W".into(),
                    digest: "2".into()
                },
                InputChange::Removed {
                    name: "arg V".into(),
                    digest: "1".into()
                },
            ]
        );
    }

    #[test]
    fn a_context_change_names_exactly_the_files() {
        let stored = [with_files(
            "context 1",
            "c1",
            &[
                ("src", "d"),
                ("src/a.rs", "1"),
                ("src/b.rs", "2"),
                ("src/gone.rs", "3"),
            ],
        )];
        let today = [with_files(
            "context 1",
            "c2",
            &[
                ("src", "d"),
                ("src/a.rs", "1"),
                ("src/b.rs", "2b"),
                ("src/new.rs", "4"),
            ],
        )];
        assert_eq!(
            diff_inputs(&stored, &today),
            [InputChange::Changed {
                name: "context 1".into(),
                old: "c1".into(),
                new: "c2".into(),
                files: vec![
                    FileChange::Changed {
                        path: "src/b.rs".into(),
                        old: "2".into(),
                        new: "2b".into()
                    },
                    FileChange::Removed {
                        path: "src/gone.rs".into(),
                        digest: "3".into()
                    },
                    FileChange::Added {
                        path: "src/new.rs".into(),
                        digest: "4".into()
                    },
                ],
            }]
        );
    }

    #[test]
    fn without_file_lists_only_the_total_differs() {
        let stored = [input("context 1", "c1")];
        let today = [with_files("context 1", "c2", &[("a", "1")])];
        assert_eq!(
            diff_inputs(&stored, &today),
            [InputChange::Changed {
                name: "context 1".into(),
                old: "c1".into(),
                new: "c2".into(),
                files: vec![]
            }]
        );
    }
}

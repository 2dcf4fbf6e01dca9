//! Rust types generated at build time from our own `proto/` files (see build.rs and
//! proto/README.md). The module tree mirrors the protobuf packages, because generated
//! code names other packages by relative paths (`super::super::pb::Platform`).
//! Only `llb`, `buildkit` and `gateway` use these types directly.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

macro_rules! generated {
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
    };
}

/// LLB ops and definitions.
pub mod pb {
    generated!("pb.rs");
}

/// Typed details of solve errors.
pub mod errdefs {
    generated!("errdefs.rs");
}

pub mod fsutil {
    /// File metadata and the DiffCopy packet stream.
    pub mod types {
        generated!("fsutil.types.rs");
    }
}

pub mod google {
    pub mod rpc {
        generated!("google.rpc.rs");
    }
}

pub mod grpc {
    pub mod health {
        /// The health service a session serves.
        pub mod v1 {
            generated!("grpc.health.v1.rs");
        }
    }
}

pub mod moby {
    pub mod buildkit {
        /// The Control service.
        pub mod v1 {
            generated!("moby.buildkit.v1.rs");

            pub mod types {
                generated!("moby.buildkit.v1.types.rs");
            }

            pub mod apicaps {
                generated!("moby.buildkit.v1.apicaps.rs");
            }

            /// The LLBBridge (gateway) service.
            pub mod frontend {
                generated!("moby.buildkit.v1.frontend.rs");
            }
        }

        pub mod secrets {
            pub mod v1 {
                generated!("moby.buildkit.secrets.v1.rs");
            }
        }
    }

    pub mod filesync {
        /// FileSync, FileSend and Auth: the session services for files and credentials.
        pub mod v1 {
            generated!("moby.filesync.v1.rs");
        }
    }

    pub mod sshforward {
        pub mod v1 {
            generated!("moby.sshforward.v1.rs");
        }
    }
}

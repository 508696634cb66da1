//! `gate`: sign-in in front of the static tree that `broker build` renders.

pub mod oidc;

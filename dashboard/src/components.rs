//! Widgets shared by the pages.

pub mod conversation;
pub mod feedback;
pub mod handoff_form;
pub mod nav;

//! The WASM entry point; everything is in the library.

fn main() {
    sessionfs_dashboard::mount();
}

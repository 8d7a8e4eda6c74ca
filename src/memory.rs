//! Allocator settings that give memory back to the system.
//!
//! glibc's malloc serves a large block from an arena once a block of that
//! size was freed (its mmap threshold rises to match, up to 32 MiB), and an
//! arena keeps what it once held. Argon2 allocates 19 MiB per password hash
//! on whichever blocking thread runs it, so a burst of sign-ups left every
//! arena holding its share: 400 registrations grew the process by 3 GiB,
//! never returned. A fixed threshold keeps such blocks in their own
//! mappings, unmapped the moment they are freed.

/// Blocks at least this large are mapped on their own and unmapped on free.
pub const MMAP_THRESHOLD: usize = 1 << 20;

/// Apply the settings; call once at start, before any heavy allocation.
pub fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; glibc documents it
    // as safe to call at any time, from any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
    }
}

//! Nothing is allocated after warm-up: a counting global allocator counts every allocation
//! made while the engine applies a command, over 1M mixed commands after warm-up, and the
//! count must be zero. Generating the commands and checking them is not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::{Engine, Event};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper only
// bumps a counter, which neither allocates nor touches the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const WARM_UP_COMMANDS: usize = 100_000;
const MEASURED_COMMANDS: usize = 1_000_000;

/// The counter itself works: an allocation while counting is seen.
fn assert_counter_sees_allocations() {
    COUNTING.with(|counting| counting.set(true));
    let boxed = std::hint::black_box(Box::new(42u64));
    COUNTING.with(|counting| counting.set(false));
    drop(boxed);
    assert_eq!(ALLOCATIONS.swap(0, Ordering::Relaxed), 1);
}

#[test]
fn a_million_mixed_commands_after_warm_up_allocate_nothing() {
    assert_counter_sees_allocations();
    let mut flow = FlowGenerator::new(7, FlowConfig::default());
    let mut engine = Engine::new(flow.engine_config());
    let mut events: Vec<Event> = Vec::with_capacity(1 << 16);
    for envelope in flow.setup() {
        engine.apply(&envelope, &mut events);
    }
    let mut kinds_seen = std::collections::HashSet::new();
    for index in 0..WARM_UP_COMMANDS + MEASURED_COMMANDS {
        let envelope = flow.next_command();
        kinds_seen.insert(envelope.command.kind());
        events.clear();
        let measuring = index >= WARM_UP_COMMANDS;
        COUNTING.with(|counting| counting.set(measuring));
        engine.apply(&envelope, &mut events);
        COUNTING.with(|counting| counting.set(false));
        flow.observe(&events);
    }
    assert!(kinds_seen.len() >= 12, "the flow must be mixed; saw {kinds_seen:?}");
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 0, "the engine allocated after warm-up");
}

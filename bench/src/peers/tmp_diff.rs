use crate::op::BenchEngine;
use crate::workload::{Profile, Workload};

#[test]
fn tmp_diff() {
    let w = Workload::generate(Profile::B, 35_000, 42);
    let mut a = super::lobster::Lobster::default();
    let mut b = super::matchcore::Matchcore::default();
    a.setup(w.symbols, w.accounts);
    b.setup(w.symbols, w.accounts);
    for (i, op) in w.prefill.iter().chain(&w.ops).enumerate() {
        let before_a = super::lobster::tmp_depth(&a, 0);
        let before_b = super::matchcore::tmp_depth(&b, 0);
        a.apply(op);
        b.apply(op);
        if i == 32 {
            eprintln!("before lobster {:?}\nbefore matchcore {:?}", before_a, before_b);
            for o in &w.ops[..=i] {
                eprintln!(
                    "{:?} {:?} id{} t{} {} x{}",
                    o.kind, o.side, o.order_id, o.target_order_id, o.price_ticks, o.qty_lots
                );
            }
        }
        if a.totals() != b.totals() || a.depth_hash() != b.depth_hash() {
            let start = i.saturating_sub(0);
            eprintln!("diverge at {i}: {:?} vs {:?}\n{:?}", a.totals(), b.totals(), &w.ops[start..=i]);
            // find history of ids involved
            panic!();
        }
    }
}

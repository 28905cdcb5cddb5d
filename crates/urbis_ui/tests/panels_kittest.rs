//! The panels' logic driven through egui's test harness (egui_kittest,
//! AccessKit queries, no window or GPU): the style editor applies what its
//! widgets say, refuses a bad query with the rule's field and applies
//! nothing; the timeline's "live" button leaves a scrubbed time.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use urbis_ui::{StyleEditor, Timeline, UiAction};

fn applied(actions: &[UiAction]) -> Vec<usize> {
    actions
        .iter()
        .filter_map(|a| match a {
            UiAction::ApplyStyle(s) => Some(s.rules.len()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_style_editor_applies_its_rules_and_refuses_a_bad_query() {
    let mut editor = StyleEditor::default();
    editor.open = true;
    let state = (editor, Vec::<UiAction>::new());
    let mut harness = Harness::builder().with_context_setup(urbis_ui::install_look).build_ui_state(
        |ui, (editor, actions): &mut (StyleEditor, Vec<UiAction>)| {
            editor.show(ui.ctx(), actions);
        },
        state,
    );
    harness.get_by_label("add rule").click();
    harness.run();
    harness.get_by_label("apply").click();
    harness.run();
    assert_eq!(applied(&harness.state().1), vec![1], "one rule applied");
    match &harness.state().1[0] {
        UiAction::ApplyStyle(s) => assert_eq!(s.rules[0].query, "class = Building"),
        other => panic!("{other:?}"),
    }
    // The rule's query field, made invalid: apply refuses and says where.
    let field = harness.get_all_by_role(Role::TextInput).next().expect("the rule's query field");
    field.focus();
    harness.run();
    harness.get_all_by_role(Role::TextInput).next().expect("field").type_text(" and");
    harness.run();
    harness.get_by_label("apply").click();
    harness.run();
    assert_eq!(applied(&harness.state().1), vec![1], "nothing more applied");
    assert!(harness.query_by_label_contains("rule[0].when").is_some(), "the error names the rule's field");
}

#[test]
fn the_timelines_live_button_ends_a_scrub() {
    let timeline =
        Timeline { now_ms: 10_000_000, at_ms: Some(9_000_000), alarms: vec!["raised".into()], start_ms: None };
    let mut harness = Harness::builder().with_context_setup(urbis_ui::install_look).build_ui_state(
        |ui, (t, actions): &mut (Timeline, Vec<UiAction>)| {
            urbis_ui::timeline::show(ui, t, Some((8_000_000, 10_000_000)), &[], actions);
        },
        (timeline, Vec::new()),
    );
    assert!(harness.query_by_label_contains("shown: 02:30:00 UTC").is_some(), "the scrubbed time is shown");
    harness.get_by_label("live").click();
    harness.run();
    assert!(matches!(harness.state().1.as_slice(), [UiAction::Scrub(None)]), "live again: {:?}", harness.state().1);
}

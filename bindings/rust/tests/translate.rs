//! The crate against an installed opusrt and the tiny fixture model (random weights: gibberish
//! translations, but real ones: every property checked here holds for any model).
//! The model directory: OPUSRT_TEST_MODEL, else the build tree's fixture (../../build/fixtures/tiny,
//! made by the project's test build); OPUSRT_TEST_NOPAST_MODEL an export without past (else the
//! fixture tiny-nopast next to the model, when there is one).
use std::path::PathBuf;
use std::sync::Arc;

use opusrt::{EarlyStopping, Split, Status, TranslateOptions, Translator, TranslatorConfig};

fn model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OPUSRT_TEST_MODEL") {
        return PathBuf::from(dir);
    }
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../build/fixtures/tiny");
    assert!(
        fixture.join("config.json").exists(),
        "no test model: set OPUSRT_TEST_MODEL, or run the project's tests once (scripts/test.sh) to make {}",
        fixture.display()
    );
    fixture
}

fn translator() -> Translator {
    Translator::new(model_dir()).expect("the fixture model loads")
}

const TEXTS: [&str; 3] = ["Hello world.", "Where is the nearest train station?", "Good morning!"];

/// The output ids of each text of a batch (timings differ from run to run; ids must not).
fn ids(results: &[opusrt::Result<opusrt::Translation>]) -> Vec<Vec<i64>> {
    results.iter().map(|r| r.as_ref().expect("translated").output_ids.clone()).collect()
}

fn greedy(max_new_tokens: i64) -> TranslateOptions {
    TranslateOptions::new().num_beams(1).max_new_tokens(max_new_tokens)
}

#[test]
fn batch_translates_each_text_as_if_alone() {
    let t = translator();
    let options = greedy(16);
    let batch = t.translate_batch(&TEXTS, &options).unwrap();
    assert_eq!(batch.len(), TEXTS.len());
    let start = batch[0].as_ref().unwrap().output_ids[0];
    for (i, result) in batch.iter().enumerate() {
        let translation = result.as_ref().unwrap();
        assert_eq!(translation.source_text, TEXTS[i]);
        assert_eq!(translation.output_ids[0], start, "decoder start token first");
        assert!(translation.output_ids.len() >= 2);
        assert!(translation.source_ids.len() >= 2);
        assert!(translation.score < 0.0);
        assert!(!translation.stopped);
        assert_eq!(translation.n_best.len(), 1);
        assert_eq!(translation.n_best[0].text, translation.text);
        assert!(translation.timings.total_ms >= translation.timings.decoder_ms);
        let alone = t.translate(TEXTS[i], &options).unwrap();
        assert_eq!(alone.output_ids, translation.output_ids);
        assert_eq!(alone.text, translation.text);
    }
    // Strings of any kind, and the empty batch.
    let owned: Vec<String> = TEXTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids(&t.translate_batch(&owned, &options).unwrap()), ids(&batch));
    assert!(t.translate_batch::<&str>(&[], &options).unwrap().is_empty());
}

#[test]
fn n_best_lists_distinct_hypotheses_best_first() {
    let t = translator();
    let options = TranslateOptions::new()
        .num_beams(4)
        .num_return_sequences(3)
        .early_stopping(EarlyStopping::Never)
        .length_penalty(1.0)
        .max_new_tokens(12);
    for result in t.translate_batch(&TEXTS, &options).unwrap() {
        let translation = result.unwrap();
        assert_eq!(translation.n_best.len(), 3);
        assert_eq!(translation.n_best[0].text, translation.text);
        assert_eq!(translation.n_best[0].output_ids, translation.output_ids);
        assert_eq!(translation.n_best[0].score, translation.score);
        for pair in translation.n_best.windows(2) {
            assert!(pair[0].score >= pair[1].score);
            assert_ne!(pair[0].output_ids, pair[1].output_ids);
        }
    }
}

#[test]
fn streaming_sees_every_token_and_false_stops_that_text() {
    let t = translator();
    for beams in [1, 3] {
        let options = TranslateOptions::new().num_beams(beams).max_new_tokens(20);
        let mut tokens: Vec<Vec<i64>> = vec![Vec::new(), Vec::new()];
        let mut last: Vec<String> = vec![String::new(), String::new()];
        let results = t
            .translate_stream(&TEXTS[..2], &options, |index, token, partial| {
                tokens[index].push(token);
                last[index] = partial.to_string();
                !(index == 1 && tokens[1].len() == 3) // stop text 1 after 3 tokens
            })
            .unwrap();
        let first = results[0].as_ref().unwrap();
        assert!(!first.stopped);
        assert_eq!(tokens[0], first.output_ids[1..].to_vec());
        assert_eq!(last[0], first.text);
        // false ends that text's calls; greedy: its translation is what came so far; beam
        // search streams a finished search, so its translation is complete.
        let second = results[1].as_ref().unwrap();
        assert_eq!(tokens[1].len(), 3);
        assert_eq!(tokens[1], second.output_ids[1..4].to_vec());
        if beams == 1 {
            assert!(second.stopped);
            assert_eq!(second.output_ids.len(), 1 + 3);
            assert_eq!(last[1], second.text);
        } else {
            assert!(!second.stopped);
        }
    }
}

#[test]
fn a_panic_in_the_streaming_closure_reaches_the_caller() {
    let t = translator();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        t.translate_stream(&TEXTS, &greedy(10), |_, _, _| panic!("stop here"))
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"stop here"));
    // The translator is still fine.
    assert!(t.translate(TEXTS[0], &greedy(4)).is_ok());
}

#[test]
fn a_variant_loads_its_graphs_and_warnings_say_what_to_know() {
    let config = |variant: &str| TranslatorConfig { variant: variant.to_string(), ..TranslatorConfig::default() };
    let quantized = Translator::with_config(model_dir(), &config("quantized")).expect("the quantized variant loads");
    let out = quantized.translate("Hello world.", &greedy(8)).expect("translated");
    assert!(!out.output_ids.is_empty());
    assert!(quantized.warnings().is_empty());
    let e = Translator::with_config(model_dir(), &config("nope")).unwrap_err();
    assert_eq!(e.status(), Status::Model);
    assert!(e.message().contains("encoder_model_nope.onnx"), "{}", e);
    let e = Translator::with_config(model_dir(), &config("../up")).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    // The target languages, each usable as target_lang.
    let languages = quantized.languages();
    assert!(languages.contains(&"cmn_Hans".to_string()), "{:?}", languages);
    for code in &languages {
        assert!(!code.contains(">>"), "{}", code);
        quantized.translate("Hello world.", &greedy(4).target_lang(code)).expect("translated");
    }
    // An export without past: OPUSRT_TEST_NOPAST_MODEL (the project's test run sets it; then it
    // must exist), else the fixture next to the test model when there is one.
    let (nopast, required) = match std::env::var_os("OPUSRT_TEST_NOPAST_MODEL") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (model_dir().join("../tiny-nopast"), false),
    };
    assert!(!required || nopast.join("config.json").exists(), "no model at {}", nopast.display());
    if nopast.join("config.json").exists() {
        let warnings = Translator::new(&nopast).expect("loads").warnings();
        assert_eq!(warnings.len(), 1, "{:?}", warnings);
        assert!(warnings[0].contains("without past"), "{}", warnings[0]);
    }
}

#[test]
fn missing_model_is_a_model_error_naming_it() {
    let e = Translator::new("/nonexistent/opusrt-model").unwrap_err();
    assert_eq!(e.status(), Status::Model);
    assert!(e.message().contains("/nonexistent/opusrt-model"), "{}", e);
    assert!(e.to_string().contains("/nonexistent/opusrt-model"));
    let e = Translator::new("").unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[test]
fn invalid_input_fails_that_text_alone() {
    let t = translator();
    let options = greedy(8);
    let long = "word ".repeat(5000);
    let texts: [&[u8]; 4] = [b"Hello world.", b"bad\xff byte", long.as_bytes(), b"Good morning!"];
    let results = t.translate_bytes(&texts, &options).unwrap();
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.status(), Status::InvalidInput);
    assert_eq!(e.message(), "texts[1]: invalid UTF-8 at byte 3");
    let e = results[2].as_ref().unwrap_err();
    assert_eq!(e.status(), Status::Translate);
    assert!(e.message().contains("max_position_embeddings"), "{}", e);
    assert_eq!(results[0].as_ref().unwrap().text, t.translate("Hello world.", &options).unwrap().text);
    assert!(results[3].is_ok());
    // translate(): the text's error is the call's.
    assert_eq!(t.translate(&long, &options).unwrap_err().status(), Status::Translate);
}

#[test]
fn invalid_options_fail_the_call_with_the_libraries_message() {
    let t = translator();
    let e = t.translate_batch(&TEXTS, &TranslateOptions::new().num_beams(2).num_return_sequences(3)).unwrap_err();
    assert_eq!(e.status(), Status::Translate);
    assert!(e.message().contains("num_return_sequences"), "{}", e);
    let e = t.translate(TEXTS[0], &greedy(4).target_lang("xx_Nope")).unwrap_err();
    assert_eq!(e.status(), Status::Translate);
    assert!(e.message().contains(">>cmn_Hans<<"), "{}", e);
    let e = t.translate(TEXTS[0], &greedy(4).temperature(-1.0)).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("temperature must be > 0"), "{}", e);
    let e = t.translate(TEXTS[0], &greedy(0)).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let e = t.translate(TEXTS[0], &greedy(4).suppress_tokens(&[-1])).unwrap_err();
    assert!(e.message().contains("suppress_tokens"), "{}", e);
}

#[test]
fn sampling_with_a_seed_is_reproducible() {
    let t = translator();
    let sampling = greedy(12).do_sample(true).temperature(1.5).seed(42);
    let a = t.translate_batch(&TEXTS, &sampling).unwrap();
    let b = t.translate_batch(&TEXTS, &sampling).unwrap();
    assert_eq!(ids(&a), ids(&b));
    let greedy_texts: Vec<Vec<i64>> =
        t.translate_batch(&TEXTS, &greedy(12)).unwrap().into_iter().map(|r| r.unwrap().output_ids).collect();
    let sampled = ids(&a);
    assert_ne!(sampled, greedy_texts);
    // top_k 1 keeps the most likely token only: greedy.
    let top1: Vec<Vec<i64>> =
        t.translate_batch(&TEXTS, &sampling.top_k(1)).unwrap().into_iter().map(|r| r.unwrap().output_ids).collect();
    assert_eq!(top1, greedy_texts);
}

#[test]
fn processors_and_target_prefix_apply() {
    let t = translator();
    let free = t.translate(TEXTS[1], &greedy(10)).unwrap();
    let generated = &free.output_ids[1..free.output_ids.len() - 1];
    let suppressed = t.translate(TEXTS[1], &greedy(10).suppress_tokens(generated)).unwrap();
    assert!(suppressed.output_ids[1..].iter().all(|id| !generated.contains(id)));
    let no_repeat = t.translate(TEXTS[1], &greedy(30).no_repeat_ngram_size(1)).unwrap();
    let mut seen = no_repeat.output_ids[1..].to_vec();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), no_repeat.output_ids.len() - 1);
    let prefix = [10i64, 11];
    let forced = t.translate(TEXTS[1], &greedy(10).target_prefix_ids(&prefix)).unwrap();
    assert_eq!(forced.output_ids[1..3].to_vec(), prefix.to_vec());
    let text_prefix = t.translate(TEXTS[0], &greedy(10).target_prefix("你好")).unwrap();
    assert!(text_prefix.text.starts_with("你好"), "{}", text_prefix.text);
    let plain = t.translate(TEXTS[0], &greedy(4)).unwrap();
    let with_lang = t.translate(TEXTS[0], &greedy(4).target_lang("cmn_Hans")).unwrap();
    assert_eq!(with_lang.source_ids[1..].to_vec(), plain.source_ids, ">>cmn_Hans<< goes first");
}

#[test]
fn translate_text_cuts_sentences_and_joins_them_back() {
    let t = translator();
    let text = "Hello world. Where is the nearest train station?\n\nGood morning!";
    let options = greedy(8).split(Split::Sentences).max_batch(2);
    let translated = t.translate_text(text, &options).unwrap();
    let units: Vec<&str> = translated.units.iter().map(|u| u.source_text.as_str()).collect();
    assert_eq!(units, TEXTS.to_vec());
    assert!(translated.text.contains("\n\n"));
    for (unit, text) in translated.units.iter().zip(TEXTS.iter()) {
        assert_eq!(unit.text, t.translate(text, &greedy(8)).unwrap().text);
        assert!(translated.text.contains(&unit.text));
    }
    let mut calls = vec![0usize; 3];
    let streamed = t
        .translate_text_stream(text, &options, |unit, _, _| {
            calls[unit] += 1;
            true
        })
        .unwrap();
    assert_eq!(streamed.text, translated.text);
    assert_eq!(ids(&streamed.units.into_iter().map(Ok).collect::<Vec<_>>()),
               ids(&translated.units.iter().cloned().map(Ok).collect::<Vec<_>>()));
    for (unit, n) in translated.units.iter().zip(calls) {
        assert_eq!(n, unit.output_ids.len() - 1);
    }
}

#[test]
fn one_translator_serves_several_threads() {
    let t = Arc::new(translator());
    let options = greedy(12);
    let expected: Vec<String> = TEXTS.iter().map(|text| t.translate(text, &options).unwrap().text).collect();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let t = Arc::clone(&t);
            let options = options.clone();
            std::thread::spawn(move || {
                (0..3).map(|_| t.translate(TEXTS[i % 3], &options).unwrap().text).collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        for text in handle.join().unwrap() {
            assert_eq!(text, expected[i % 3]);
        }
    }
    // Borrowed across scoped threads too (Sync).
    let shared: &Translator = &t;
    std::thread::scope(|scope| {
        for text in TEXTS {
            let options = &options;
            scope.spawn(move || assert!(shared.translate(text, options).is_ok()));
        }
    });
}

#[test]
fn incremental_session_finals_equal_offline() {
    let t = translator();
    let translate = greedy(16);
    let mut session = t.session(&opusrt::SessionOptions { translate: translate.clone(), ..Default::default() }).unwrap();
    for (segment, source) in TEXTS.iter().enumerate() {
        let words: Vec<&str> = source.split(' ').collect();
        let mut committed = String::new();
        for n in 1..words.len() {
            let update = session.push(&words[..n].join(" "), false).unwrap();
            assert_eq!(update.segment, segment as i64);
            assert!(!update.is_final);
            assert!(update.committed.starts_with(&committed), "committed text only grows");
            committed = update.committed;
        }
        let last = session.push(source, true).unwrap();
        assert!(last.is_final);
        assert_eq!(last.committed, t.translate(source, &translate).unwrap().text, "final == offline");
        assert_eq!(last.retracted, !last.committed.starts_with(&committed));
    }
    // A partial longer than the model takes: its sentences before the last become a final of
    // their own, and later pushes of the same partial go on after them.
    let long = "Open the file. ".repeat(200) + "Close the"; // past the tiny model's 256 positions
    let closed = session.push(&long, false).unwrap();
    assert!(closed.split && closed.is_final);
    assert!(long.starts_with(&closed.source) && closed.source.len() < long.len());
    let rest = session.push(&long, false).unwrap();
    assert!(!rest.split && !rest.is_final);
    assert!(long.ends_with(&rest.source) && closed.source.len() + rest.source.len() <= long.len());
    assert!(session.push("Hello", false).is_ok());
    session.close().unwrap();
    assert!(session.push("Hello", false).is_err());

    // Other policies; invalid settings are errors with the library's message.
    for policy in [opusrt::CommitPolicy::Hold(2), opusrt::CommitPolicy::WaitK(1), opusrt::CommitPolicy::LocalAgreement(3)] {
        let options = opusrt::SessionOptions { translate: translate.clone(), policy: Some(policy), ..Default::default() };
        let mut session = t.session(&options).unwrap();
        session.push("Where is", false).unwrap();
        let last = session.push(TEXTS[1], true).unwrap();
        assert_eq!(last.committed, t.translate(TEXTS[1], &translate).unwrap().text);
    }
    let e = t.session(&opusrt::SessionOptions { bias: 1.5, ..Default::default() }).unwrap_err();
    assert!(e.message().contains("bias"), "{}", e);
}

#[test]
fn one_session_per_stream_on_its_own_thread() {
    let t = translator();
    let translate = greedy(16);
    std::thread::scope(|scope| {
        for source in TEXTS {
            let t = &t;
            let translate = translate.clone();
            scope.spawn(move || {
                let mut session = t.session(&opusrt::SessionOptions { translate: translate.clone(), ..Default::default() }).unwrap();
                session.push(&source[..source.len() / 2], false).unwrap();
                let last = session.push(source, true).unwrap();
                assert_eq!(last.committed, t.translate(source, &translate).unwrap().text);
            });
        }
    });
}

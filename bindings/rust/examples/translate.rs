//! How a speech engine embeds opusrt: one translator for the process, one worker per audio
//! stream. Each stream's transcript arrives as text; the worker streams the translation token by
//! token (what a live caption shows) and prints the final text.
//!
//!   cargo run --example translate -- MODEL_DIR [--target-lang CODE] [TRANSCRIPT...]
//!
//! Each TRANSCRIPT is one audio stream's text (default: two demo streams); with "-" the streams
//! are stdin's lines. Incremental sessions (partial transcripts that grow and get retracted)
//! will replace translate_text_stream here once the C API has them (IncrementalSession, reserved).
use std::io::BufRead;
use std::sync::Arc;
use std::thread;

use opusrt::{TranslateOptions, Translator};

fn main() {
    let mut args = std::env::args().skip(1);
    let model_dir = match args.next() {
        Some(dir) => dir,
        None => {
            eprintln!("usage: translate MODEL_DIR [--target-lang CODE] [TRANSCRIPT...|-]");
            std::process::exit(2);
        }
    };
    let mut options = TranslateOptions::new().num_beams(1).max_new_tokens(64);
    let mut transcripts: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--target-lang" {
            let code = args.next().unwrap_or_default();
            options = options.target_lang(&code);
        } else if arg == "-" {
            transcripts.extend(std::io::stdin().lock().lines().filter_map(|line| line.ok()));
        } else {
            transcripts.push(arg);
        }
    }
    if transcripts.is_empty() {
        transcripts = vec![
            "Hello world. Where is the nearest train station?".to_string(),
            "Good morning! How are you today?".to_string(),
        ];
    }

    // One translator for every stream: it is Send + Sync and holds the model once.
    let translator = match Translator::new(&model_dir) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("translate: {}", e);
            std::process::exit(1);
        }
    };
    println!("opusrt {} (C API level {})", opusrt::version(), opusrt::api_version());

    let workers: Vec<_> = transcripts
        .into_iter()
        .enumerate()
        .map(|(stream, transcript)| {
            let translator = Arc::clone(&translator);
            let options = options.clone();
            thread::spawn(move || {
                let result = translator.translate_text_stream(&transcript, &options, |unit, _token, partial| {
                    eprintln!("[stream {} unit {}] {}", stream, unit, partial);
                    true // false would stop this unit (e.g. the speaker went on)
                });
                match result {
                    Ok(translation) => println!("[stream {}] {}", stream, translation.text),
                    Err(e) => eprintln!("[stream {}] error: {}", stream, e),
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a stream's worker panicked");
    }
}

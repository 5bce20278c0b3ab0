//! How a speech engine embeds opusrt: one translator for the process, one incremental session
//! per audio stream, each on its own thread. ASR gives a growing partial transcript many times a
//! second, then a final one; each push returns committed text (it only grows) and tentative text
//! (it may change); the final is exactly the offline translation.
//!
//!   cargo run --example translate -- MODEL_DIR [--target-lang CODE] [TRANSCRIPT...]
//!
//! Each TRANSCRIPT is one audio stream's segment (default: two demo streams); this example plays
//! ASR by pushing it word by word. Output: one line per update, "[stream N] committed | tentative",
//! and "[stream N] final: ..." per segment.
use std::thread;

use opusrt::{SessionOptions, TranslateOptions, Translator};

fn main() {
    let mut args = std::env::args().skip(1);
    let model_dir = match args.next() {
        Some(dir) => dir,
        None => {
            eprintln!("usage: translate MODEL_DIR [--target-lang CODE] [TRANSCRIPT...]");
            std::process::exit(2);
        }
    };
    let mut translate = TranslateOptions::new().num_beams(1).max_new_tokens(64);
    let mut transcripts: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--target-lang" {
            translate = translate.target_lang(&args.next().unwrap_or_default());
        } else {
            transcripts.push(arg);
        }
    }
    if transcripts.is_empty() {
        transcripts = vec![
            "Where is the nearest train station?".to_string(),
            "Good morning, how are you today?".to_string(),
        ];
    }

    // One translator for every stream: it is Send + Sync and holds the model once.
    let translator = match Translator::new(&model_dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("translate: {}", e);
            std::process::exit(1);
        }
    };
    println!("opusrt {} (C API level {})", opusrt::version(), opusrt::api_version());
    let options = SessionOptions { translate, ..Default::default() }; // LocalAgreement-2

    thread::scope(|scope| {
        for (stream, transcript) in transcripts.iter().enumerate() {
            let translator = &translator;
            let options = &options;
            scope.spawn(move || {
                let mut session = match translator.session(options) {
                    Ok(session) => session,
                    Err(e) => return eprintln!("[stream {}] error: {}", stream, e),
                };
                let words: Vec<&str> = transcript.split_whitespace().collect();
                for n in 1..=words.len() {
                    let is_final = n == words.len();
                    let source = if is_final { transcript.clone() } else { words[..n].join(" ") };
                    match session.push(&source, is_final) {
                        Ok(update) if update.is_final => println!("[stream {}] final: {}", stream, update.committed),
                        Ok(update) => println!("[stream {}] {} | {}", stream, update.committed, update.tentative),
                        Err(e) => eprintln!("[stream {}] error: {}", stream, e),
                    }
                }
            });
        }
    });
}

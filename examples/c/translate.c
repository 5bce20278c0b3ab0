/* translate: opusrt's C API in one small program.
 *
 *   translate MODEL_DIR [--target-lang CODE] [--max-new-tokens N] [--beams N] [TEXT...]
 *
 * Translates the TEXT arguments, or else every line of stdin (in batches of up to 16 lines),
 * and prints one line per text. An empty input line gives an empty output line. On an error it
 * prints the status and opusrt_last_error() to stderr and exits with 1; a text that cannot be
 * translated (invalid UTF-8, too long) prints an empty line, its reason on stderr, and the
 * others are translated (exit status 1).
 */
#include <opusrt/opusrt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kBatchLines = 16 };

static int report(const char* what, opusrt_status status) {
  fprintf(stderr, "translate: %s: %s: %s\n", what, opusrt_status_string(status), opusrt_last_error());
  return 1;
}

/* Translates count texts as one batch and prints one line per text. Returns 1 when the call
 * failed, else 0; sets *text_failed when a text failed alone. */
static int translate_batch(const opusrt_translator* translator, const opusrt_options* options,
                           const char* const* texts, size_t count, int* text_failed) {
  opusrt_result* result = NULL;
  opusrt_status status = opusrt_translate(translator, options, texts, NULL, count, &result);
  if (status != OPUSRT_OK) return report("translate", status);
  size_t n = 0;
  status = opusrt_result_count(result, &n);
  for (size_t i = 0; status == OPUSRT_OK && i < n; ++i) {
    /* A text that cannot be translated fails alone: an empty line here, the reason on stderr. */
    opusrt_status text_status = OPUSRT_OK;
    const char* message = NULL;
    status = opusrt_result_error(result, i, &text_status, &message);
    if (status == OPUSRT_OK && text_status != OPUSRT_OK) {
      fprintf(stderr, "translate: %s: %s\n", opusrt_status_string(text_status), message);
      *text_failed = 1;
    }
    const char* text = NULL;
    size_t length = 0;
    if (status == OPUSRT_OK) status = opusrt_result_text(result, i, &text, &length);
    if (status == OPUSRT_OK) {
      fwrite(text, 1, length, stdout);
      fputc('\n', stdout);
    }
  }
  opusrt_result_free(result); /* frees every text the result handed out */
  if (status != OPUSRT_OK) return report("result", status);
  return fflush(stdout) == 0 ? 0 : 1;
}

/* Reads one line of any length without its "\n" or "\r\n"; NULL at end of input. */
static char* read_line(FILE* in) {
  size_t capacity = 256, length = 0;
  char* line = malloc(capacity);
  if (line == NULL) return NULL;
  int c;
  while ((c = fgetc(in)) != EOF && c != '\n') {
    if (length + 1 == capacity) {
      char* bigger = realloc(line, capacity * 2);
      if (bigger == NULL) {
        free(line);
        return NULL;
      }
      line = bigger;
      capacity *= 2;
    }
    line[length++] = (char)c;
  }
  if (c == EOF && length == 0) {
    free(line);
    return NULL;
  }
  if (length > 0 && line[length - 1] == '\r') --length;
  line[length] = '\0';
  return line;
}

/* Translates stdin in batches; empty lines are echoed, not translated. */
static int translate_stdin(const opusrt_translator* translator, const opusrt_options* options, int* text_failed) {
  char* lines[kBatchLines];
  size_t count = 0;
  int failed = 0, done = 0;
  while (!failed && !done) {
    char* line = read_line(stdin);
    done = line == NULL;
    /* A batch ends at kBatchLines, at an empty line (printed in order after it) and at the end. */
    const int empty = line != NULL && line[0] == '\0';
    if (line != NULL && !empty) lines[count++] = line;
    if (count > 0 && (count == kBatchLines || empty || done)) {
      failed = translate_batch(translator, options, (const char* const*)lines, count, text_failed);
      for (size_t i = 0; i < count; ++i) free(lines[i]);
      count = 0;
    }
    if (empty) {
      if (!failed) fputc('\n', stdout);
      free(line);
    }
  }
  for (size_t i = 0; i < count; ++i) free(lines[i]);
  return failed;
}

int main(int argc, char** argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    fprintf(stderr, "usage: %s MODEL_DIR [--target-lang CODE] [--max-new-tokens N] [--beams N] [TEXT...]\n"
                    "opusrt %s\n", argv[0], opusrt_version());
    return argc < 2 ? 2 : 0;
  }
  opusrt_options* options = NULL;
  opusrt_status status = opusrt_options_create(&options);
  if (status != OPUSRT_OK) return report("options", status);

  int first_text = 2;
  while (first_text + 1 < argc && strncmp(argv[first_text], "--", 2) == 0) {
    const char* flag = argv[first_text];
    const char* value = argv[first_text + 1];
    if (strcmp(flag, "--target-lang") == 0) {
      status = opusrt_options_set_target_lang(options, value);
    } else if (strcmp(flag, "--max-new-tokens") == 0) {
      status = opusrt_options_set_max_new_tokens(options, strtoll(value, NULL, 10));
    } else if (strcmp(flag, "--beams") == 0) {
      status = opusrt_options_set_num_beams(options, (int32_t)strtol(value, NULL, 10));
    } else {
      fprintf(stderr, "translate: unknown option %s\n", flag);
      opusrt_options_free(options);
      return 2;
    }
    if (status != OPUSRT_OK) {
      opusrt_options_free(options);
      return report(flag, status);
    }
    first_text += 2;
  }

  opusrt_translator* translator = NULL;
  status = opusrt_create(argv[1], NULL, &translator); /* NULL config: decoder "auto", default threads */
  if (status != OPUSRT_OK) {
    opusrt_options_free(options);
    return report("load", status);
  }

  int failed, text_failed = 0;
  if (first_text < argc) {
    failed = translate_batch(translator, options, (const char* const*)(argv + first_text), (size_t)(argc - first_text),
                             &text_failed);
  } else {
    failed = translate_stdin(translator, options, &text_failed);
  }
  opusrt_free(translator);
  opusrt_options_free(options);
  return failed || text_failed;
}

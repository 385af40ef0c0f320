// Package shellenv renders environment assignments for `docker werf ci-env`:
// a script that a CI job evaluates (`eval "$(docker werf ci-env …)"`,
// `. "$(docker werf ci-env … --as-file)"`) or a data file that a CI system
// reads. Values come from CI variables that an attacker may control (branch,
// tag and commit text), so every format is built so that evaluating the output
// gives back each value byte for byte and nothing in a value can run code or
// start a new statement. When a format cannot hold a value exactly, Render
// fails with an error naming the variable instead of writing something close.
//
// Rules common to every format:
//
//   - A name must match ^[A-Za-z_][A-Za-z0-9_]*$ (ErrInvalidName).
//   - A value containing NUL is refused (ErrUnrepresentable): no environment
//     can hold it.
//   - Render validates and renders every entry before writing anything, so an
//     error never leaves a partial script behind.
//   - An Entry with an empty Name is a comment-only line (a blank line in the
//     script formats when Comment is empty too). Value is ignored when Unset
//     is set. Later entries for the same name win, as in a shell.
//   - Comments are only written by the script formats other than fish. Any
//     control character in a comment (CR, LF, VT, FF, NEL, …, and
//     U+2028/U+2029; TAB too in powershell and cmdexe) is replaced by a
//     space, so a comment always ends on its own line.
//
// # sh, bash, zsh
//
//	# comment
//	export NAME='value'
//	export NAME='it'\''s'
//	unset -v NAME
//
// The value is single-quoted and each quote in it is written as close quote,
// backslash-quote, open quote (second line above). Every other byte, newlines
// and invalid UTF-8 included, stays literal: POSIX single quotes keep
// everything up to the next quote (POSIX.1-2017 XCU 2.2.2). A backslash is
// never emitted right after a value byte, so the quoting also holds in legacy
// double-byte locales (Shift-JIS, GBK, Big5), whose trail bytes include the
// backslash but not the quote. zsh's RC_QUOTES option does not change the
// meaning: the output never has two adjacent quotes inside an open quote.
// `unset -v` (POSIX) removes only a variable, never a function of that name.
// The three formats produce the same text.
//
// # fish
//
//	set -gx NAME 'value';
//	set -e NAME;
//
// Both `cmd | source` and `eval (cmd)` read it. fish's `eval (cmd)` joins
// cmd's lines with spaces, so the output has no comments (one would swallow
// the rest of the joined line) and every statement ends with ";".
// Printable ASCII (0x20–0x7E) goes inside single quotes, where fish knows only
// the escapes \\ and \'. Every other byte (control characters, newline, and
// every byte of a non-ASCII character) is written outside the quotes as \xHH,
// which fish turns back into that exact byte; the pieces are concatenated
// into one argument ('a'\x0a'b'). The output is thus pure ASCII on one line per
// entry, so it reads the same under any locale (a double-byte locale could
// otherwise pair a lead byte with the escaping \), and no value adds a line
// for eval to join. An empty value is a pair of quotes.
// Note: fish splits variables whose names end in PATH on ':' into lists; the
// exported value is joined back with ':' and stays exact.
//
// # powershell
//
//	# comment
//	$env:NAME = 'value'
//	$env:NAME = 'line 1' + [char]0x000A + 'line 2 ' + [char]0x00E9
//	Remove-Item Env:NAME -ErrorAction SilentlyContinue
//
// Printable ASCII goes inside single quotes with ' doubled; every other
// character is a [char]0xHHHH term (UTF-16 code units, so astral characters are
// two terms) joined with +. An expression never starts with a [char] term (an
// empty quoted string comes first), so + is string concatenation. The output is pure ASCII: a .ps1
// without a BOM is read by Windows PowerShell 5.1 in the ANSI code page, and
// piped output is decoded with [Console]::OutputEncoding, where UTF-8 bytes can
// turn into ‘ ’ ‚ ‛ (U+2018–U+201B), which PowerShell's tokenizer treats as
// single quotes (CharTraits.cs, IsSingleQuote). Newlines are not kept literal
// inside the quotes either, because PowerShell splits captured native-command
// output into lines and would turn CR or CRLF into LF. Values must be valid
// UTF-8 (a .NET string cannot hold anything else). Comments are ASCII-only
// (other characters become ?). Setting a variable to an empty string removes it in
// Windows PowerShell and in pwsh before 7.5.
//
// # cmdexe
//
//	@rem comment
//	@set "NAME=value"
//
// Lines end in CRLF; the output is meant to run as a .bat/.cmd file (batch
// mode: %% is one percent sign) with command extensions on and delayed
// expansion off, which are cmd.exe's defaults. The rules relied on are the
// batch-line parser phases described by jeb and dbenham in Stack Overflow
// question 4094699 ("How does the Windows Command Interpreter (CMD.EXE) parse
// scripts?") and Microsoft's SET documentation ("The characters <, >, |, &, ^
// are special command shell characters, and they must be preceded by the escape
// character (^) or enclosed in quotation marks"):
//
//   - Phase 0 reads a line up to LF, and reads Ctrl-Z (0x1A) as LF; phase 1.5
//     drops every CR. So a value with CR, LF or any other control character
//     except TAB is refused.
//   - Phase 1 expands %…% in the whole line, quoted or not: every % is written
//     as %%.
//   - Phase 2 toggles a quote flag on each "; inside quotes & | < > ( ) ^ are
//     literal, outside quotes ^ escapes the next character. The renderer
//     tracks the flag exactly as cmd.exe does: `set "` opens it, each " in the
//     value toggles it (and stays in the value), and while it is off each of
//     ^ & | < > ( ) is written with a ^ in front.
//   - SET with command extensions and a leading " takes the text up to the last
//     " on the line, so the closing " ends the value and the value's own
//     quotes are kept.
//   - @ keeps the line from being echoed (the value may be a token).
//   - Comments use REM, which does not parse its text; they are still made
//     inert under full parsing: printable ASCII only (others become ?), %
//     doubled, ^ & | < > ( ) " escaped with ^, and "/?" written as "/ ?".
//
// Not representable, so refused: CR, LF, other control characters except TAB,
// and any byte ≥ 0x80. A batch file is decoded in the console code page, so a
// non-ASCII value would not come back exact, and in a double-byte code page a
// lead byte could swallow the ^ that escapes the next character. Also refused:
// values containing "/?" (internal commands may print their help instead of
// running; not verified) and lines longer than 8191 characters (the cmd.exe
// line limit). cmd.exe cannot hold an empty variable: an empty value and an
// unset are both written as `@set "NAME="`, which leaves NAME undefined. With
// delayed expansion enabled (cmd /V:ON or setlocal EnableDelayedExpansion) a
// value containing ! is changed (!x! expands, ^ is removed) but no command is
// run. None of this could be run here: the tests check the output against
// golden strings and against a model of the phases above.
//
// # dotenv
//
//	NAME=bare
//	NAME="quoted \"value\" with \$ and \\ and\nnewline"
//
// One line per variable, no comments (GitLab's dotenv report rejects them) and
// no unset (refused: a dotenv file cannot remove a variable). A value made only
// of A–Z a–z 0–9 and _ . , / : @ + = % - \ is written bare; every dotenv reader
// takes it literally, including `docker run --env-file` and GitLab's
// `artifacts:reports:dotenv`, which do no unquoting. Any other value is written
// in double quotes with exactly five escapes: \\ \" \$ \n \r; all other bytes
// (TAB, ', #, `, non-ASCII) are literal. This is the syntax of docker compose's
// .env and env_file (compose-spec/compose-go dotenv) and of joho/godotenv,
// which unescape all five and do not expand \$. Known gaps: docker run
// --env-file and GitLab keep the quotes of a quoted value; joho/godotenv 1.5
// and compose-go (as read in their sources) end a quoted value at the first "
// not preceded by \, so they misread a quoted value ending in \ (and godotenv,
// which also trims quotes from both ends, one ending in ");
// python-dotenv keeps \$ as two characters; Node's dotenv unescapes only \n.
//
// # github-env
//
//	NAME=value
//	NAME<<ghadelimiter_0123456789abcdef0123456789abcdef
//	line 1
//	line 2
//	ghadelimiter_0123456789abcdef0123456789abcdef
//
// The syntax of the $GITHUB_ENV file (actions/runner,
// src/Runner.Worker/FileCommandManager.cs, SetEnvFileCommand): a value without
// CR or LF is written NAME=value (the runner splits at the first =); any
// other value uses the heredoc form with a delimiter of 128 random bits from
// crypto/rand, checked not to occur in the value, as @actions/core does. The
// runner takes the raw text between the header line and the delimiter line, so
// the value is exact, except that a Windows runner reads a CR at the very end
// of a multi-line value as part of CRLF and drops it. Values must be valid
// UTF-8 (the runner decodes the file as UTF-8); comments are omitted (the
// runner rejects lines without = or <<) and unset is refused.
//
// # json
//
// One object in entry order, {"NAME": "value", …}, with null for an unset
// entry; comments are omitted. Values must be valid UTF-8 (JSON strings hold
// Unicode text, not bytes).
//
// # Failure
//
// RenderFailure writes what a program prints instead of its variables when it
// fails, because `eval "$(cmd)"` returns 0 when cmd fails and prints nothing,
// even under set -e. Each statement ends a non-interactive shell (a CI job),
// and leaves an interactive one open with status 1:
//
//	case $- in *i*) false ;; *) exit 1 ;; esac   # sh, bash, zsh
//	status is-interactive; or exit 1; false;     # fish
//	throw 'reason'                               # powershell
//	@exit /b 1                                   # cmdexe
//
// Limits, each covered by the form the caller documents: fish's exit inside
// `source` ends only the sourcing (`cmd | source` then has status 1, while
// inside `eval (cmd)` it ends the shell); PowerShell's throw ends a script
// unless something catches it; cmd's EXIT /B leaves only the batch file, so
// its caller must check ERRORLEVEL (`call file.bat || exit /b 1`). And
// nothing printed by cmd helps when cmd does not run at all (not installed,
// not found): the caller's form must cover that too, as
// `eval "$(cmd || echo exit 1)"` does. The PowerShell and cmd.exe statements
// are checked against models of those shells only (neither runs here).
package shellenv

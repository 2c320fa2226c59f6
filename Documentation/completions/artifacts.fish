function __artifacts_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __artifacts_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __artifacts_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __artifacts_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __artifacts_parse_tokens -S
    set -l unparsed_tokens (__artifacts_tokens -pc)
    switch $unparsed_tokens[1]
    case 'artifacts'
        __artifacts_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'sync'
            __artifacts_parse_subcommand -r 1 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'j/jobs=' 'response-ids=' 'conversation=+' 'dry-run' 'watch' 'rescan-interval=' 'json' 'cacert=' 'provider=' 'no-keepalive' 'cited-only' 'stall-timeout=' 'lease=' 'version' 'h/help'
        case 'find'
            __artifacts_parse_subcommand 1 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'r/regex' 'x/exact' 'container=' 'response=' 'model=' 'since=' 'until=' 'e/ext=+' 't/type=' 'state=+' 'sort=' 'limit=' 'json' '0/print0' 'version' 'h/help'
        case 'show'
            __artifacts_parse_subcommand 1 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'json' 'version' 'h/help'
        case 'cat'
            __artifacts_parse_subcommand 1 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'version' 'h/help'
        case 'export'
            __artifacts_parse_subcommand 2 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'r/regex' 'x/exact' 'container=' 'response=' 'model=' 'since=' 'until=' 'e/ext=+' 't/type=' 'state=+' 'sort=' 'limit=' 'layout=' 'format=' 'level=' 'version' 'h/help'
        case 'import'
            __artifacts_parse_subcommand 1 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'version' 'h/help'
        case 'push'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'j/jobs=' 'json' 'version' 'h/help'
        case 'check'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'read-data' 'budget=' 'repair' 'json' 'version' 'h/help'
        case 'gc'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'apply' 'grace=' 'older-than=' 'response=' 'json' 'version' 'h/help'
        case 'doctor'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'provider=' 'cacert=' 'json' 'version' 'h/help'
        case 'serve'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'port=' 'open' 'version' 'h/help'
        case 'migrate-catalog'
            __artifacts_parse_subcommand 0 'store=' 'blobs=' 'catalog=' 'q/quiet' 'v/verbose' 'color=' 'to=' 'json' 'version' 'h/help'
        case 'help'
            __artifacts_parse_subcommand -r 1 'version'
        end
    end
end

function __artifacts_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __artifacts_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __artifacts_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __artifacts_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__artifacts_tokens -p)
    if test -z "$(__artifacts_tokens -t)"
        set -l index (count (__artifacts_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'artifacts' -f
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'sync' -d 'Download every file the logs cite that is not archived yet.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'find' -d 'Find archived files by name and provenance.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'show' -d 'Show everything known about one file: bytes, state and every citation.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'cat' -d 'Write one archived file\'s bytes to standard output.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'export' -d 'Write archived files and their provenance to a .tar or .tar.gz.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'import' -d 'Add the files and provenance of an export to this store.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'push' -d 'Copy the local store\'s files into the bucket --blobs names.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'check' -d 'Verify that the catalog and the stored files agree.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'gc' -d 'Remove stored files nothing needs (a dry run unless --apply).'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'doctor' -d 'Check the configuration against the provider and say what is wrong.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'serve' -d 'Browse the archive in a web browser: a gallery, search, previews and downloads.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'migrate-catalog' -d 'Copy the store\'s local catalog into PostgreSQL, to share it between hosts.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_positional "artifacts" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" j jobs' -s 'j' -l 'jobs' -d 'Concurrent downloads.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" response-ids' -l 'response-ids' -d 'Fetch these responses from the API and read them (one id a line; - reads stdin).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync"' -l 'conversation' -d 'Fetch every item of this conversation (conv_…) and read them; repeatable.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" dry-run' -l 'dry-run' -d 'Scan and record citations, but download nothing.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" watch' -l 'watch' -d 'After the sync, keep following the logs and archive each cited file as soon as its line is written.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" rescan-interval' -l 'rescan-interval' -d 'With --watch: seconds between walks of every path, under inotify (which can drop events).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" json' -l 'json' -d 'Print JSON Lines events on stdout; the last one is the summary.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" cacert' -l 'cacert' -d 'Certificate authorities (PEM) to trust beside the system\'s, for the API and an HTTPS proxy.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" provider' -l 'provider' -d 'Whose API: openai or azure (needed only when the environment configures both).' -rfka 'openai azure'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" no-keepalive' -l 'no-keepalive' -d 'Do not refresh containers whose files are still waiting.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" cited-only' -l 'cited-only' -d 'Download only cited files; do not list containers for the files no citation names.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" stall-timeout' -l 'stall-timeout' -d 'Seconds without a byte before a transfer is retried.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" lease' -l 'lease' -d 'Seconds a claim on a file lasts without renewal.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts sync" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" r regex' -s 'r' -l 'regex' -d 'Treat the pattern as a regular expression.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" exact x' -s 'x' -l 'exact' -d 'Match the whole name exactly.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" container' -l 'container' -d 'Only files from this container.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" response' -l 'response' -d 'Only files cited by this response.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" model' -l 'model' -d 'Only files cited by responses of this model (gpt-5 matches gpt-5-2025-08-07).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" since' -l 'since' -d 'Only files cited since a date (2026-11-01) or for a duration (7d, 12h, 30m, 2w).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" until' -l 'until' -d 'Only files cited before a date or duration ago.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find"' -s 'e' -l 'ext' -d 'Only names with this extension (repeatable).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" t type' -s 't' -l 'type' -d 'Only this media type, or its family (image, text/csv).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find"' -l 'state' -d 'States to include (repeatable): archived (default), pending, lost, failed.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" sort' -l 'sort' -d 'Order: name (default), newest, oldest (newest reversed), size.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" limit' -l 'limit' -d 'At most this many files.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" json' -l 'json' -d 'Print JSON Lines: one object per file with every citing response.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" 0 print0' -s '0' -l 'print0' -d 'Print stored paths separated by NUL (for xargs -0).'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts find" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" json' -l 'json' -d 'Print JSON Lines, one object per file (the fields of find --json).'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts cat" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" r regex' -s 'r' -l 'regex' -d 'Treat the pattern as a regular expression.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" exact x' -s 'x' -l 'exact' -d 'Match the whole name exactly.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" container' -l 'container' -d 'Only files from this container.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" response' -l 'response' -d 'Only files cited by this response.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" model' -l 'model' -d 'Only files cited by responses of this model (gpt-5 matches gpt-5-2025-08-07).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" since' -l 'since' -d 'Only files cited since a date (2026-11-01) or for a duration (7d, 12h, 30m, 2w).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" until' -l 'until' -d 'Only files cited before a date or duration ago.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export"' -s 'e' -l 'ext' -d 'Only names with this extension (repeatable).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" t type' -s 't' -l 'type' -d 'Only this media type, or its family (image, text/csv).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export"' -l 'state' -d 'States to include (repeatable): archived (default), pending, lost, failed.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" sort' -l 'sort' -d 'Order: name (default), newest, oldest (newest reversed), size.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" limit' -l 'limit' -d 'At most this many files.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" layout' -l 'layout' -d 'by-response (default), by-container or flat.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" format' -l 'format' -d 'tar or tgz; needed when writing to standard output.' -rfka 'tar tgz'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" level' -l 'level' -d 'gzip level, 1 (fastest) to 9 (smallest).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts import" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" j jobs' -s 'j' -l 'jobs' -d 'Uploads at once.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" json' -l 'json' -d 'Print the summary as one JSON object.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts push" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" read-data' -l 'read-data' -d 'Re-hash every stored file.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" budget' -l 'budget' -d 'Re-hash only part: a percentage (10%) or a time budget (90s, 5m, 1h); implies --read-data.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" repair' -l 'repair' -d 'Download damaged files again while their containers live; the rest become lost.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" json' -l 'json' -d 'Print JSON Lines: one event per problem, then the summary.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" apply' -l 'apply' -d 'Delete; without it, only list what would go.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" grace' -l 'grace' -d 'Keep unnamed stored files younger than this (default 24h).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" older-than' -l 'older-than' -d 'Also forget archived files last cited before this long ago (90d) or date.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" response' -l 'response' -d 'Also forget the archived files this response cited.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" json' -l 'json' -d 'Print JSON Lines: one event per item, then the summary.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts gc" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" provider' -l 'provider' -d 'Whose API: openai or azure (needed only when the environment configures both).' -rfka 'openai azure'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" cacert' -l 'cacert' -d 'Certificate authorities (PEM) to trust beside the system\'s, as sync takes them.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" json' -l 'json' -d 'Print one JSON object per check (check, status, message, advice).'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts doctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" port' -l 'port' -d 'Port on 127.0.0.1 (default: 8700, or any free port when it is taken; 0: any).' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" open' -l 'open' -d 'Open the gallery in the default browser (xdg-open).'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" store' -l 'store' -d 'The store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" blobs' -l 'blobs' -d 'Keep the bytes in an S3-compatible bucket instead of the store directory.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" catalog' -l 'catalog' -d 'Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" q quiet' -s 'q' -l 'quiet' -d 'Print only errors and the result.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" v verbose' -s 'v' -l 'verbose' -d 'Print every file as it is handled.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" color' -l 'color' -d 'When to use colour: auto, always or never (NO_COLOR is honoured).' -rfka 'auto always never'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" to' -l 'to' -d 'The PostgreSQL catalog to copy into.' -rfka ''
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" json' -l 'json' -d 'Print the summary as one JSON object.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" version' -l 'version' -d 'Show the version.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts migrate-catalog" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'artifacts' -n '__artifacts_should_offer_completions_for_flags_or_options "artifacts help" version' -l 'version' -d 'Show the version.'

#compdef artifacts

__artifacts_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__artifacts_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __artifacts_complete "${completions[@]:0:-1}"
    fi
}

__artifacts_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_artifacts() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'sync:Download every file the logs cite that is not archived yet.'
            'find:Find archived files by name and provenance.'
            'show:Show everything known about one file: bytes, state and every citation.'
            'cat:Write one archived file'\''s bytes to standard output.'
            'export:Write archived files and their provenance to a .tar or .tar.gz.'
            'import:Add the files and provenance of an export to this store.'
            'push:Copy the local store'\''s files into the bucket --blobs names.'
            'check:Verify that the catalog and the stored files agree.'
            'gc:Remove stored files nothing needs (a dry run unless --apply).'
            'doctor:Check the configuration against the provider and say what is wrong.'
            'serve:Browse the archive in a web browser: a gallery, search, previews and downloads.'
            'migrate-catalog:Copy the store'\''s local catalog into PostgreSQL, to share it between hosts.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        sync|find|show|cat|export|import|push|check|gc|doctor|serve|migrate-catalog|help)
            "_artifacts_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_artifacts_sync() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar ___provider=('openai' 'azure')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '*:path:'
        '(-j --jobs)'{-j,--jobs}'[Concurrent downloads.]:jobs:'
        '--response-ids[Fetch these responses from the API and read them (one id a line; - reads stdin).]:file:'
        '*--conversation[Fetch every item of this conversation (conv_…) and read them; repeatable.]:id:'
        '--dry-run[Scan and record citations, but download nothing.]'
        '--watch[After the sync, keep following the logs and archive each cited file as soon as its line is written.]'
        '--rescan-interval[With --watch\: seconds between walks of every path, under inotify (which can drop events).]:seconds:'
        '--json[Print JSON Lines events on stdout; the last one is the summary.]'
        '--cacert[Certificate authorities (PEM) to trust beside the system'\''s, for the API and an HTTPS proxy.]:file:'
        '--provider[Whose API\: openai or azure (needed only when the environment configures both).]:provider:{__artifacts_complete "${___provider[@]}"}'
        '--no-keepalive[Do not refresh containers whose files are still waiting.]'
        '--cited-only[Download only cited files; do not list containers for the files no citation names.]'
        '--stall-timeout[Seconds without a byte before a transfer is retried.]:seconds:'
        '--lease[Seconds a claim on a file lasts without renewal.]:seconds:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_find() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        ':pattern:'
        '(-r --regex)'{-r,--regex}'[Treat the pattern as a regular expression.]'
        '(-x --exact)'{-x,--exact}'[Match the whole name exactly.]'
        '--container[Only files from this container.]:cntr_…:'
        '--response[Only files cited by this response.]:resp_…:'
        '--model[Only files cited by responses of this model (gpt-5 matches gpt-5-2025-08-07).]:model:'
        '--since[Only files cited since a date (2026-11-01) or for a duration (7d, 12h, 30m, 2w).]:when:'
        '--until[Only files cited before a date or duration ago.]:when:'
        '*'{-e,--ext}'[Only names with this extension (repeatable).]:ext:'
        '(-t --type)'{-t,--type}'[Only this media type, or its family (image, text/csv).]:type:'
        '*--state[States to include (repeatable)\: archived (default), pending, lost, failed.]:state:'
        '--sort[Order\: name (default), newest, oldest (newest reversed), size.]:order:'
        '--limit[At most this many files.]:limit:'
        '--json[Print JSON Lines\: one object per file with every citing response.]'
        '(-0 --print0)'{-0,--print0}'[Print stored paths separated by NUL (for xargs -0).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_show() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        ':id:'
        '--json[Print JSON Lines, one object per file (the fields of find --json).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_cat() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        ':id:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_export() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar ___format=('tar' 'tgz')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        ':out:'
        ':pattern:'
        '(-r --regex)'{-r,--regex}'[Treat the pattern as a regular expression.]'
        '(-x --exact)'{-x,--exact}'[Match the whole name exactly.]'
        '--container[Only files from this container.]:cntr_…:'
        '--response[Only files cited by this response.]:resp_…:'
        '--model[Only files cited by responses of this model (gpt-5 matches gpt-5-2025-08-07).]:model:'
        '--since[Only files cited since a date (2026-11-01) or for a duration (7d, 12h, 30m, 2w).]:when:'
        '--until[Only files cited before a date or duration ago.]:when:'
        '*'{-e,--ext}'[Only names with this extension (repeatable).]:ext:'
        '(-t --type)'{-t,--type}'[Only this media type, or its family (image, text/csv).]:type:'
        '*--state[States to include (repeatable)\: archived (default), pending, lost, failed.]:state:'
        '--sort[Order\: name (default), newest, oldest (newest reversed), size.]:order:'
        '--limit[At most this many files.]:limit:'
        '--layout[by-response (default), by-container or flat.]:layout:'
        '--format[tar or tgz; needed when writing to standard output.]:format:{__artifacts_complete "${___format[@]}"}'
        '--level[gzip level, 1 (fastest) to 9 (smallest).]:level:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_import() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        ':archive:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_push() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '(-j --jobs)'{-j,--jobs}'[Uploads at once.]:jobs:'
        '--json[Print the summary as one JSON object.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_check() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '--read-data[Re-hash every stored file.]'
        '--budget[Re-hash only part\: a percentage (10%) or a time budget (90s, 5m, 1h); implies --read-data.]:share:'
        '--repair[Download damaged files again while their containers live; the rest become lost.]'
        '--json[Print JSON Lines\: one event per problem, then the summary.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_gc() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '--apply[Delete; without it, only list what would go.]'
        '--grace[Keep unnamed stored files younger than this (default 24h).]:duration:'
        '--older-than[Also forget archived files last cited before this long ago (90d) or date.]:when:'
        '--response[Also forget the archived files this response cited.]:resp_…:'
        '--json[Print JSON Lines\: one event per item, then the summary.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_doctor() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar ___provider=('openai' 'azure')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '--provider[Whose API\: openai or azure (needed only when the environment configures both).]:provider:{__artifacts_complete "${___provider[@]}"}'
        '--cacert[Certificate authorities (PEM) to trust beside the system'\''s, as sync takes them.]:file:'
        '--json[Print one JSON object per check (check, status, message, advice).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_serve() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '--port[Port on 127.0.0.1 (default\: 8700, or any free port when it is taken; 0\: any).]:port:'
        '--open[Open the gallery in the default browser (xdg-open).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_migrate-catalog() {
    local -i ret=1
    local -ar ___color=('auto' 'always' 'never')
    local -ar arg_specs=(
        '--store[The store directory.]:dir:'
        '--blobs[Keep the bytes in an S3-compatible bucket instead of the store directory.]:s3\://bucket/prefix:'
        '--catalog[Keep the catalog in PostgreSQL, shared by every host that syncs into one archive.]:postgresql\://user@host/db:'
        '(-q --quiet)'{-q,--quiet}'[Print only errors and the result.]'
        '(-v --verbose)'{-v,--verbose}'[Print every file as it is handled.]'
        '--color[When to use colour\: auto, always or never (NO_COLOR is honoured).]:when:{__artifacts_complete "${___color[@]}"}'
        '--to[The PostgreSQL catalog to copy into.]:postgresql\://…:'
        '--json[Print the summary as one JSON object.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_artifacts_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _artifacts ]]; then
    _artifacts "${@}"
else
    compdef _artifacts artifacts
fi

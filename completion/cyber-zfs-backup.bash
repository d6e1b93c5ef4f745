# Bash completion for cyber-zfs-backup(8); installed as /usr/share/bash-completion/completions/cyber-zfs-backup.

_cyber_zfs_backup_ssh_hosts() {
    # Host aliases (without wildcards) of the ssh config given on the line, else the packaged one.
    local config=/etc/ssh/cyber-zfs-backup.ssh_config i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --ssh-config ]]; then
            config=${COMP_WORDS[i + 1]}
        elif [[ ${COMP_WORDS[i]} == --ssh-config=* ]]; then
            config=${COMP_WORDS[i]#--ssh-config=}
        fi
    done
    [[ -r $config ]] || return 0
    awk 'tolower($1) == "host" { for (i = 2; i <= NF; i++) if ($i !~ /[*?!]/) print $i }' "$config" 2>/dev/null
}

_cyber_zfs_backup() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local options='--action --dataset --pool --dry-run --no-act -n --verbose -v --debug
        --retention-policy --force-destroy-lots --ssh-destination --ssh-config
        --zfs-receive-dataset --use-sudo --force-non-incremental --bwlimit --metrics-file
        --json --warning --critical --received --snapshot --help --version'
    COMPREPLY=()

    # On an offsite host: cyber-zfs-backup serve --root DATASET [--append-only] [--stale-receive-after SECONDS] (the forced command of a key).
    if [[ ${COMP_WORDS[1]} == serve ]]; then
        local serve_options='--root --append-only --stale-receive-after --log-file --help --version'
        case $prev in
            --root)
                mapfile -t COMPREPLY < <(compgen -W "$(zfs list -H -o name -t filesystem 2>/dev/null)" -- "$cur")
                return 0 ;;
            --stale-receive-after)
                return 0 ;;
            --log-file)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return 0 ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$serve_options" -- "$cur")
        return 0
    fi
    if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W 'serve' -- "$cur")
        return 0
    fi

    # --retention-policy takes three numbers: offer nothing while they are typed.
    local i
    for ((i = COMP_CWORD - 1; i >= 1 && i >= COMP_CWORD - 3; i--)); do
        [[ ${COMP_WORDS[i]} == --retention-policy ]] && return 0
        [[ ${COMP_WORDS[i]} =~ ^[0-9]+$ ]] || break
    done

    case $prev in
        --action)
            mapfile -t COMPREPLY < <(compgen -W 'snapshot expire push status restore' -- "$cur")
            return 0 ;;
        --dataset | --pool)
            mapfile -t COMPREPLY < <(compgen -W "$(zfs list -H -o name -t filesystem 2>/dev/null)" -- "$cur")
            return 0 ;;
        --ssh-config | --metrics-file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0 ;;
        --ssh-destination)
            mapfile -t COMPREPLY < <(compgen -W "$(_cyber_zfs_backup_ssh_hosts)" -- "$cur")
            return 0 ;;
        --zfs-receive-dataset | --warning | --critical | --snapshot)
            return 0 ;;
        --bwlimit)
            # A rate in bytes per second: offer the usual forms.
            mapfile -t COMPREPLY < <(compgen -W '512K 1M 5M 10M 20M 50M 100M' -- "$cur")
            return 0 ;;
    esac

    mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
}

complete -F _cyber_zfs_backup cyber-zfs-backup

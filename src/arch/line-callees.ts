// Kernel functions that take __LINE__ as an argument, with the argument's 1-based position.
// A shift of source lines changes the immediate passed here and nothing else; any other
// differing immediate (a size to copy_from_user, a flag) is a real change.
export const LINE_ARGUMENT: ReadonlyMap<string, number> = new Map([
  ["__might_sleep", 2],          // might_sleep() → __might_sleep(__FILE__, __LINE__)
  ["__might_resched", 2],        // cond_resched() checks
  ["__might_fault", 2],          // might_fault() in uaccess helpers
  ["warn_slowpath_fmt", 2],      // WARN() on arches without __WARN_FLAGS
  ["lockdep_rcu_suspicious", 2], // RCU_LOCKDEP_WARN()
  ["__ext4_error", 3], ["__ext4_error_inode", 3], ["__ext4_error_file", 3], ["__ext4_std_error", 3],
  ["__ext4_warning", 3], ["__ext4_warning_inode", 3], ["__ext4_grp_locked_error", 2],
  ["__ext4_journal_start_sb", 2], ["__ext4_journal_stop", 2], ["__ext4_journal_get_write_access", 2],
  ["__ext4_journal_get_create_access", 2], ["__ext4_handle_dirty_metadata", 2], ["__ext4_forget", 2],
  ["__ext4_mark_inode_dirty", 4], ["ext4_journal_abort_handle", 2],
  ["__btrfs_handle_fs_error", 3], ["__btrfs_abort_transaction", 3], ["__btrfs_panic", 3], ["btrfs_assertfail", 3],
  ["assfail", 4], ["xfs_error_report", 5],
]);

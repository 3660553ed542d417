"""The daemon's actors: each owns its state and a bounded mailbox, one per module.

* ``registry``  - live runs (sessions): create, attach/detach streams, retire;
* ``wal``       - one per run: appends accepted batches to the run's write-ahead log;
* ``history``   - turns records into rows, summary and metadata, and writes them to the store;
* ``heartbeat`` - marks runs whose client vanished as crashed; stops an idle daemon.
"""

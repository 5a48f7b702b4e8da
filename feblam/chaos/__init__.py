"""`feblam chaos`: the hit-generation job on the local stack, fed a known read set
while its processes are killed and its services restarted, then checked for lost
hits and duplicate history rows."""

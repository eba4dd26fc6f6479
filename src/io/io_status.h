// io_status.h -- what launch/ must know about the I/O libraries before the process ends.
#pragma once

namespace plinth::io {

// True when HDF5 failed to close a file even after plinth's recovery (h5.cpp): its shutdown,
// run at exit and by MPI_Finalize, may then crash, so the process must end without it.
bool io_library_damaged();

}  // namespace plinth::io

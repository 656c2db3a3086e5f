def write_report(d, out=None): raise NotImplementedError

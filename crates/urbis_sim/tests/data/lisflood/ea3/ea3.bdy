EA test 3 inflow per unit width (m2/s)
inflow
6 seconds
0 0
0 5
0.655 15
0.655 25
0 35
0 900
